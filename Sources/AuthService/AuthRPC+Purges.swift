import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// The record of deleted accounts awaiting their purge elsewhere; services only (the edge).
extension AuthRPC {
    public func claimAccountPurges(request: Atelier_Auth_V1_ClaimAccountPurgesRequest, context: ServerContext) async throws -> Atelier_Auth_V1_ClaimAccountPurgesResponse {
        _ = try Caller.service()
        let limit = request.limit == 0 ? 20 : Int(request.limit)
        guard (1...100).contains(limit) else { throw ServiceError.invalid("limit", "limit must be 1 to 100") }
        let pause = request.retryAfterSeconds == 0 ? 60 : Int(request.retryAfterSeconds)
        guard (1...3600).contains(pause) else { throw ServiceError.invalid("retryAfterSeconds", "retryAfterSeconds must be 1 to 3600") }
        let due = try await purges.claim(limit: limit, pause: TimeInterval(pause), now: Date.databaseNow)
        return .with {
            $0.purges = due.map { claimed in
                .with {
                    $0.userID = claimed.userID
                    $0.deletedAt = .init(date: claimed.deletedAt)
                    $0.attempts = Int32(clamping: claimed.attempts)
                }
            }
        }
    }

    public func completeAccountPurge(request: Atelier_Auth_V1_CompleteAccountPurgeRequest, context: ServerContext) async throws -> Atelier_Auth_V1_SuccessResponse {
        _ = try Caller.service()
        guard !request.userID.isEmpty, request.userID.utf8.count <= 64 else {
            throw ServiceError.invalid("userId", "userId must be a user id")
        }
        try await purges.complete(userID: request.userID)
        return .with { $0.success = true }
    }
}

/// Whether a back-office credential is still in force, for the services it calls.
extension AuthRPC {
    public func checkCredential(request: Atelier_Auth_V1_CheckCredentialRequest, context: ServerContext) async throws -> Atelier_Auth_V1_CheckCredentialResponse {
        let principal = try Caller.service()
        // Principals a service signs for itself (the edge's) carry no record: they live minutes.
        let active = try principal.credentialID.isEmpty
            ? true : await ServiceCredentials.isActive(users.database, id: principal.credentialID, now: Date.databaseNow)
        return .with {
            $0.credentialID = principal.credentialID
            $0.active = active
        }
    }
}
