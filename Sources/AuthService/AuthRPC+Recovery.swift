import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

extension AuthRPC {
    func queueVerification(userID: String, email: String, now: Date, on tx: any SQLExecutor) async throws -> MailOutbox.Message {
        try await tokens.revokeOutstanding(.verifyEmail, userID: userID, now: now, on: tx)
        let token = try await tokens.issue(.verifyEmail, userID: userID, email: email,
                                           lifetime: settings.verificationLifetime, now: now, on: tx)
        let text = templates.verification(token: token)
        return try await outbox.enqueue(kind: "verify_email", to: email, subject: text.subject, body: text.body, now: now, on: tx)
    }

    public func verifyEmail(request: Atelier_Auth_V1_VerifyEmailRequest, context: ServerContext) async throws -> Atelier_Auth_V1_UserResponse {
        try requireAnyCaller()
        guard !request.token.isEmpty else { throw ServiceError.invalid("token", "token is required") }
        let now = Date.databaseNow
        let userID: String? = try await users.database.transaction { tx in
            guard let redeemed = try await self.tokens.redeem(.verifyEmail, token: request.token, now: now, on: tx),
                  let user = try await self.users.find(id: redeemed.userID, on: tx),
                  user.email == redeemed.email  // the address may have changed since the link was sent
            else { return nil }
            try await self.users.markEmailVerified(userID: user.id, now: now, on: tx)
            return user.id
        }
        guard let userID, let user = try await users.find(id: userID) else {
            throw ServiceError(.invalidArgument, reason: "TOKEN_INVALID", "the link is invalid, used or expired", field: "token")
        }
        return .with { $0.user = user.message(plan: Caller.principal?.plan ?? "") }
    }

    public func resendVerificationEmail(request: Atelier_Auth_V1_ResendVerificationEmailRequest, context: ServerContext) async throws -> Atelier_Auth_V1_SuccessResponse {
        let (user, _, _) = try await currentUser()
        guard user.emailVerifiedAt == nil else {
            throw ServiceError(.failedPrecondition, reason: "ALREADY_VERIFIED", "the email address is already verified")
        }
        let now = Date.databaseNow
        let mail = try await users.database.transaction { tx in
            try await self.queueVerification(userID: user.id, email: user.email, now: now, on: tx)
        }
        logMail(mail)
        return .with { $0.success = true }
    }

    /// Always answers success, whether or not the address has an account, so the form cannot be
    /// used to learn which addresses are registered.
    public func requestPasswordReset(request: Atelier_Auth_V1_RequestPasswordResetRequest, context: ServerContext) async throws -> Atelier_Auth_V1_SuccessResponse {
        try requireAnyCaller()
        let email = try EmailAddress.validated(request.email)
        if let user = try await users.find(email: email) {
            let now = Date.databaseNow
            let minutes = Int(settings.resetLifetime / 60)
            let mail = try await users.database.transaction { tx in
                try await self.tokens.revokeOutstanding(.resetPassword, userID: user.id, now: now, on: tx)
                let token = try await self.tokens.issue(.resetPassword, userID: user.id, email: email,
                                                        lifetime: self.settings.resetLifetime, now: now, on: tx)
                let text = self.templates.passwordReset(token: token, minutes: minutes)
                return try await self.outbox.enqueue(kind: "reset_password", to: email, subject: text.subject,
                                                     body: text.body, now: now, on: tx)
            }
            logMail(mail)
        }
        return .with { $0.success = true }
    }

    /// Sets the new password and ends every session: whoever knew the old password is signed out.
    /// The reply names the user in `SessionsEnded` metadata, so the edge that carried it forgets
    /// the sessions it holds at once instead of honouring them until they leave its cache.
    public func resetPassword(request: ServerRequest<Atelier_Auth_V1_ResetPasswordRequest>, context: ServerContext) async throws -> ServerResponse<Atelier_Auth_V1_SuccessResponse> {
        let userID = try await resetPassword(request.message)
        var metadata = Metadata()
        metadata.addString(userID, forKey: SessionsEnded.metadataKey)
        return ServerResponse(message: .with { $0.success = true }, metadata: metadata)
    }

    public func resetPassword(request: Atelier_Auth_V1_ResetPasswordRequest, context: ServerContext) async throws -> Atelier_Auth_V1_SuccessResponse {
        _ = try await resetPassword(request)
        return .with { $0.success = true }
    }

    /// Returns whose password it set.
    private func resetPassword(_ request: Atelier_Auth_V1_ResetPasswordRequest) async throws -> String {
        try requireAnyCaller()
        guard !request.token.isEmpty else { throw ServiceError.invalid("token", "token is required") }
        try policy.check(request.password)
        let passwordHash = try await hasher.hash(request.password)
        let now = Date.databaseNow
        let userID: String? = try await users.database.transaction { tx in
            guard let redeemed = try await self.tokens.redeem(.resetPassword, token: request.token, now: now, on: tx),
                  let user = try await self.users.find(id: redeemed.userID, on: tx), user.email == redeemed.email
            else { return nil }
            try await self.users.setPasswordHash(userID: user.id, hash: passwordHash, now: now, on: tx)
            // Opening the emailed link proves the address, too.
            try await self.users.markEmailVerified(userID: user.id, now: now, on: tx)
            _ = try await self.sessions.deleteAll(userID: user.id, on: tx)
            return user.id
        }
        guard let userID else {
            throw ServiceError(.invalidArgument, reason: "TOKEN_INVALID", "the link is invalid, used or expired", field: "token")
        }
        if let user = try await users.find(id: userID) { try await throttle.reset(email: user.email) }
        return userID
    }
}
