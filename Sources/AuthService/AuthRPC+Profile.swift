import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

extension AuthRPC {
    public func getProfile(request: Atelier_Auth_V1_GetProfileRequest, context: ServerContext) async throws -> Atelier_Auth_V1_UserResponse {
        let (user, _, plan) = try await currentUser()
        return .with { $0.user = user.message(plan: plan) }
    }

    public func updateProfile(request: Atelier_Auth_V1_UpdateProfileRequest, context: ServerContext) async throws -> Atelier_Auth_V1_UserResponse {
        let (user, _, plan) = try await currentUser()
        let changes = try ProfileChanges(request)
        guard let updated = try await users.update(userID: user.id, changes: changes, now: Date.databaseNow) else {
            throw ServiceError.notFound("user")
        }
        return .with { $0.user = updated.message(plan: plan) }
    }

    /// Deletes the account after the password is confirmed, so a stolen session token alone
    /// cannot destroy it. Sessions, tokens and throttle rows go with it, and the account is
    /// recorded as awaiting the purge of what other services hold (`AccountPurges`).
    public func deleteAccount(request: Atelier_Auth_V1_DeleteAccountRequest, context: ServerContext) async throws -> Atelier_Auth_V1_SuccessResponse {
        let (user, _, _) = try await currentUser()
        guard !request.password.isEmpty else { throw ServiceError.invalid("password", "password is required to delete the account") }
        do {
            _ = try await checkPassword(email: user.email, password: request.password)
        } catch let error as ServiceError where error.reason == "INVALID_CREDENTIALS" {
            // The caller is signed in; a wrong confirmation is a bad request, not a lost session.
            throw ServiceError(.permissionDenied, reason: "WRONG_PASSWORD", "the password is not correct", field: "password")
        }
        try await users.database.transaction { tx in
            _ = try await self.sessions.deleteAll(userID: user.id, on: tx)
            try await tx.query("DELETE FROM one_time_tokens WHERE user_id = \(user.id)")
            try await tx.query("DELETE FROM mail_outbox WHERE recipient = \(user.email)")
            try await self.users.delete(userID: user.id, on: tx)
            try await self.purges.record(userID: user.id, now: Date.databaseNow, on: tx)
        }
        try await throttle.reset(email: user.email)
        logger.info("account deleted", metadata: ["userID": "\(user.id)"])
        return .with { $0.success = true }
    }
}
