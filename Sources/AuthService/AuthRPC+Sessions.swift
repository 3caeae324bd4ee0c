import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

extension AuthRPC {
    public func signUp(request: Atelier_Auth_V1_SignUpRequest, context: ServerContext) async throws -> Atelier_Auth_V1_AuthResponse {
        try requireAnyCaller()
        let email = try EmailAddress.validated(request.email)
        try policy.check(request.password)
        let name = request.hasName ? try ProfileRules.name(request.name) : nil
        let language = request.hasPreferredLanguage ? try ProfileRules.language(request.preferredLanguage) : "en"
        if try await users.find(email: email) != nil {
            throw ServiceError(.alreadyExists, reason: "EMAIL_TAKEN", "an account with this email already exists", field: "email")
        }
        let passwordHash = try await hasher.hash(request.password)
        let now = Date.databaseNow
        let userID = SecureRandom.id(prefix: "user")
        // The user, the first session and the verification message are written together or not at all.
        let (session, mail) = try await users.database.transaction { tx in
            try await self.users.insert(id: userID, email: email, passwordHash: passwordHash, name: name,
                                        language: language, now: now, on: tx)
            let session = try await self.sessions.create(userID: userID, now: now, on: tx)
            let mail = try await self.queueVerification(userID: userID, email: email, now: now, on: tx)
            return (session, mail)
        }
        logMail(mail)
        logger.info("account created", metadata: ["userID": "\(userID)"])
        guard let user = try await users.find(id: userID) else { throw ServiceError.notFound("user") }
        return .with {
            $0.user = user.message(plan: "")
            $0.session = .with {
                $0.token = session.token
                $0.expiresAt = .init(date: session.expiresAt)
            }
        }
    }

    public func logIn(request: Atelier_Auth_V1_LogInRequest, context: ServerContext) async throws -> Atelier_Auth_V1_AuthResponse {
        try requireAnyCaller()
        let user = try await checkPassword(email: request.email, password: request.password)
        if settings.requireVerifiedEmail, user.emailVerifiedAt == nil {
            throw ServiceError(.permissionDenied, reason: "EMAIL_NOT_VERIFIED", "confirm your email address before logging in")
        }
        let now = Date.databaseNow
        if hasher.needsRehash(user.passwordHash) {
            // The password is known right now, so this is the moment to move it to stronger parameters.
            try await users.setPasswordHash(userID: user.id, hash: try await hasher.hash(request.password), now: now)
        }
        let session = try await users.database.transaction { tx in
            try await self.sessions.create(userID: user.id, now: now, on: tx)
        }
        try await users.touchLastSeen(userID: user.id, now: now)
        var message = user.message(plan: "")
        message.lastSeenAt = .init(date: now)
        return .with {
            $0.user = message
            $0.session = .with {
                $0.token = session.token
                $0.expiresAt = .init(date: session.expiresAt)
            }
        }
    }

    /// The user whose email and password these are. Unknown email and wrong password take the
    /// same path, the same time (one scrypt each) and the same error; failures count toward the
    /// throttle either way (`LoginThrottle`).
    func checkPassword(email rawEmail: String, password: String) async throws -> UserRecord {
        let email = EmailAddress.normalise(rawEmail)
        guard !email.isEmpty else { throw ServiceError.invalid("email", "email is required") }
        guard !password.isEmpty else { throw ServiceError.invalid("password", "password is required") }
        guard password.count <= PasswordPolicy.maximumLength else {
            throw ServiceError.invalid("password", "password must be at most \(PasswordPolicy.maximumLength) characters")
        }
        let now = Date.databaseNow
        // Direct gRPC callers (back office) name no address; they share one.
        let address = Caller.clientAddress ?? "unknown"
        try await throttle.checkAllowed(email: email, address: address, now: now)
        let user = try await users.find(email: email)
        let matches = try await hasher.verify(password, against: user?.passwordHash ?? decoyHash)
        guard let user, matches else {
            try await throttle.recordFailure(email: email, address: address, now: now)
            throw ServiceError(.unauthenticated, reason: "INVALID_CREDENTIALS", "invalid email or password")
        }
        try await throttle.succeeded(email: email, address: address)
        return user
    }

    public func logOut(request: Atelier_Auth_V1_LogOutRequest, context: ServerContext) async throws -> Atelier_Auth_V1_SuccessResponse {
        let caller = try Caller.user()
        try await sessions.delete(id: caller.sessionID)
        return .with { $0.success = true }
    }

    public func getSession(request: Atelier_Auth_V1_GetSessionRequest, context: ServerContext) async throws -> Atelier_Auth_V1_SessionResponse {
        let (user, session, plan) = try await currentUser()
        return .with {
            $0.user = user.message(plan: plan)
            $0.session = .init(session)
        }
    }

    public func getMe(request: Atelier_Auth_V1_GetMeRequest, context: ServerContext) async throws -> Atelier_Auth_V1_UserResponse {
        let (user, _, plan) = try await currentUser()
        return .with { $0.user = user.message(plan: plan) }
    }

    public func validateSession(request: Atelier_Auth_V1_ValidateSessionRequest, context: ServerContext) async throws -> Atelier_Auth_V1_ValidateSessionResponse {
        _ = try Caller.service()
        let token = request.token
        // Tokens are 64 hex digits; anything else cannot match, so it is refused without a lookup.
        guard token.utf8.count == 64, token.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw ServiceError.unauthenticated("session token is invalid", reason: "SESSION_INVALID")
        }
        let now = Date.databaseNow
        guard let (found, user) = try await sessions.findWithUser(token: token, now: now) else {
            throw ServiceError.unauthenticated("session expired or signed out", reason: "SESSION_INVALID")
        }
        let (session, refreshed) = try await sessions.refreshIfDue(found, now: now)
        var message = user.message(plan: "")
        if refreshed {
            try await users.touchLastSeen(userID: user.id, now: now)
            message.lastSeenAt = .init(date: now)
        }
        return .with {
            $0.user = message
            $0.session = .init(session)
        }
    }

    public func revokeOtherSessions(request: Atelier_Auth_V1_RevokeOtherSessionsRequest, context: ServerContext) async throws -> Atelier_Auth_V1_RevokeOtherSessionsResponse {
        let (user, session, _) = try await currentUser()
        let revoked = try await sessions.deleteAll(userID: user.id, keeping: session.id)
        return .with {
            $0.success = true
            $0.revoked = Int32(revoked)
        }
    }
}
