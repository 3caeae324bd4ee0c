import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// Messages other services ask auth to send a user (generation's usage alerts): auth holds the
/// address and the outbox, so they go out the way every other message does.
extension AuthRPC {
    public func notifyUser(request: Atelier_Auth_V1_NotifyUserRequest, context: ServerContext) async throws -> Atelier_Auth_V1_NotifyUserResponse {
        _ = try Caller.service()
        guard !request.userID.isEmpty, request.userID.count <= 100 else { throw ServiceError.invalid("userId", "userId is required") }
        guard !request.key.isEmpty, request.key.count <= 300 else { throw ServiceError.invalid("key", "key is required, at most 300 characters") }
        guard !request.subject.isEmpty, request.subject.count <= 200 else { throw ServiceError.invalid("subject", "subject is required, at most 200 characters") }
        guard request.body.count <= 10_000 else { throw ServiceError.invalid("body", "body must be at most 10,000 characters") }
        let kind = request.kind.isEmpty ? "notice" : request.kind
        guard kind.count <= 50, kind.allSatisfy({ $0.isASCII && ($0.isLowercase || $0 == "_") }) else {
            throw ServiceError.invalid("kind", "kind is a lower-case name such as usage_alert")
        }
        guard let user = try await users.find(id: request.userID) else { throw ServiceError.notFound("user") }
        if try await users.database.first("SELECT id FROM mail_outbox WHERE dedupe_key = \(request.key)") != nil {
            return .with { $0.duplicate = true }
        }
        let now = Date.databaseNow
        do {
            let mail = try await users.database.transaction { tx in
                try await self.outbox.enqueue(kind: kind, to: user.email, subject: request.subject, body: request.body, now: now, on: tx,
                                              key: request.key)
            }
            logMail(mail)
            return .with { $0.queued = true }
        } catch let error as DatabaseError {
            // The same key, queued by a call that raced this one.
            guard case .uniqueViolation = error else { throw error }
            return .with { $0.duplicate = true }
        }
    }
}
