import AtelierProtos
import Foundation
import GRPCCore
import Logging
import ServiceKit

/// The auth service's RPCs. Each method lives in the file for its concern:
/// `AuthRPC+Sessions` (sign up, log in, sessions), `AuthRPC+Profile`, `AuthRPC+Recovery`
/// (email verification, password reset).
public final class AuthRPC: Atelier_Auth_V1_AuthService.SimpleServiceProtocol, Sendable {
    let settings: AuthSettings
    let users: UserStore
    let sessions: SessionStore
    let tokens: OneTimeTokenStore
    let throttle: LoginThrottle
    let outbox: MailOutbox
    let purges: AccountPurges
    let templates: MailTemplates
    let hasher: PasswordHasher
    let policy: PasswordPolicy
    let mailBell: MailBell
    let logger: Logger
    /// A hash of a random password made with the current parameters. Logins for unknown
    /// addresses verify against it, so they cost the same time as a wrong password.
    let decoyHash: String

    init(database: any Database, settings: AuthSettings, hashPool: BoundedWorkPool, mailBell: MailBell, logger: Logger) async throws {
        self.settings = settings
        self.users = UserStore(database: database)
        self.sessions = SessionStore(database: database, lifetime: settings.sessionLifetime, refreshInterval: settings.sessionRefreshInterval)
        self.tokens = OneTimeTokenStore(database: database)
        self.throttle = LoginThrottle(database: database, maxFailures: settings.loginMaxFailures,
                                      addressMaxFailures: settings.loginAddressMaxFailures,
                                      accountSlowdownFailures: settings.loginAccountSlowdownFailures,
                                      window: settings.loginWindow, lockout: settings.loginLockout, slowdown: .seconds(1))
        self.outbox = MailOutbox(database: database, deliversToLog: settings.smtp == nil)
        self.purges = AccountPurges(database: database)
        self.templates = MailTemplates(appURL: settings.appURL)
        self.hasher = PasswordHasher(parameters: settings.scrypt, pool: hashPool)
        self.policy = try PasswordPolicy.bundled()
        self.mailBell = mailBell
        self.logger = logger
        self.decoyHash = try await hasher.hash(SecureRandom.hex(16))
    }

    /// The signed-in caller's user record, provided their session is still open: a principal
    /// outlives a logout by at most its short lifetime, and auth itself honours logout at once.
    func currentUser() async throws -> (user: UserRecord, session: SessionRecord, plan: String) {
        let caller = try Caller.user()
        let now = Date.databaseNow
        guard let session = try await sessions.find(id: caller.sessionID, userID: caller.id, now: now),
              let user = try await users.find(id: caller.id)
        else { throw ServiceError.unauthenticated("session expired or signed out", reason: "SESSION_INVALID") }
        return (user, session, caller.principal.plan)
    }

    /// Whom the caller is, for RPCs a signed-out person may call through the edge (the edge
    /// calls with its service principal) or a back-office caller directly.
    func requireAnyCaller() throws {
        guard Caller.principal != nil else { throw ServiceError.unauthenticated("this call needs a principal") }
    }

    /// Without SMTP the log is where a developer reads the message, link included; with SMTP
    /// the link goes only to the recipient, and the delivery is woken to send it now.
    func logMail(_ message: MailOutbox.Message) {
        var metadata: Logger.Metadata = [
            "mailID": "\(message.id)", "kind": "\(message.kind)", "to": "\(message.recipient)", "subject": "\(message.subject)",
        ]
        if settings.smtp == nil { metadata["body"] = "\(message.body)" }
        logger.info("mail queued", metadata: metadata)
        mailBell.ring()
    }
}

extension Atelier_Auth_V1_SessionInfo {
    init(_ session: SessionRecord) {
        self.init()
        id = session.id
        expiresAt = .init(date: session.expiresAt)
        createdAt = .init(date: session.createdAt)
    }
}
