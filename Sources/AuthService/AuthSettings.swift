import Foundation
import ServiceKit

/// The auth service's settings, read from configuration.
///
/// - auth.session-days (int, default 30): how long a session lives without use
/// - auth.session-refresh-hours (int, default 24): how often a used session's expiry slides forward
/// - auth.scrypt-log-n / auth.scrypt-r / auth.scrypt-p (int, default 17 / 8 / 1): scrypt cost (OWASP)
/// - auth.hash-threads (int, default cores - 1, at least 1): concurrent password hashes
/// - auth.login-max-failures (int, default 5): failed logins of one account from one address
///   before that address is locked out of the account
/// - auth.login-address-max-failures (int, default 50): failed logins from one address, any
///   accounts, before the address is locked out
/// - auth.login-account-slowdown-failures (int, default 20): failed logins of one account, any
///   addresses, after which each attempt is answered a second later (never refused for it)
/// - auth.login-window-seconds (int, default 900): window in which failures count
/// - auth.login-lockout-seconds (int, default 900): lockout length
/// - auth.require-verified-email (bool, default false): refuse login (403) until the email is verified
/// - auth.app-url (string, default http://localhost:8080): base of links in emails
/// - auth.verification-hours (int, default 24) / auth.reset-minutes (int, default 60): link lifetimes
/// - auth.housekeeping-minutes (int, default 60): how often expired sessions and tokens are removed
/// - mail.* (see `SMTPSettings`); mail.poll-seconds (number, default 5): how often the outbox is delivered
public struct AuthSettings: Sendable {
    public var sessionLifetime: TimeInterval = 30 * 86_400
    public var sessionRefreshInterval: TimeInterval = 86_400
    public var scrypt = ScryptParameters.owasp
    public var hashThreads = max(1, ProcessInfo.processInfo.activeProcessorCount - 1)
    public var loginMaxFailures = 5
    public var loginAddressMaxFailures = 50
    public var loginAccountSlowdownFailures = 20
    public var loginWindow: TimeInterval = 900
    public var loginLockout: TimeInterval = 900
    public var requireVerifiedEmail = false
    public var appURL = "http://localhost:8080"
    public var verificationLifetime: TimeInterval = 24 * 3600
    public var resetLifetime: TimeInterval = 3600
    public var smtp: SMTPSettings?
    public var housekeepingInterval: Duration = .seconds(3600)
    public var mailPollInterval: Duration = .seconds(5)

    public init() {}

    public init(_ c: Configuration) throws {
        sessionLifetime = TimeInterval(try c.int("auth.session-days", default: 30, range: 1...365)) * 86_400
        sessionRefreshInterval = TimeInterval(try c.int("auth.session-refresh-hours", default: 24, range: 0...720)) * 3600
        scrypt = ScryptParameters(
            logN: try c.int("auth.scrypt-log-n", default: 17, range: 10...22),
            r: try c.int("auth.scrypt-r", default: 8, range: 1...32),
            p: try c.int("auth.scrypt-p", default: 1, range: 1...16))
        hashThreads = try c.int("auth.hash-threads", default: hashThreads, range: 1...64)
        loginMaxFailures = try c.int("auth.login-max-failures", default: 5, range: 1...1000)
        loginAddressMaxFailures = try c.int("auth.login-address-max-failures", default: 50, range: 1...100_000)
        loginAccountSlowdownFailures = try c.int("auth.login-account-slowdown-failures", default: 20, range: 1...100_000)
        loginWindow = TimeInterval(try c.int("auth.login-window-seconds", default: 900, range: 1...86_400))
        loginLockout = TimeInterval(try c.int("auth.login-lockout-seconds", default: 900, range: 1...86_400))
        requireVerifiedEmail = try c.bool("auth.require-verified-email", default: false)
        appURL = c.string("auth.app-url", default: appURL)
        verificationLifetime = TimeInterval(try c.int("auth.verification-hours", default: 24, range: 1...720)) * 3600
        resetLifetime = TimeInterval(try c.int("auth.reset-minutes", default: 60, range: 5...1440)) * 60
        if let host = c.string("mail.smtp-host") {
            let tls = try c.bool("mail.smtp-tls", default: false)
            smtp = SMTPSettings(
                host: host, port: try c.int("mail.smtp-port", default: tls ? 465 : 587, range: 1...65535),
                username: c.string("mail.smtp-username"), password: c.string("mail.smtp-password"), useTLS: tls,
                from: c.string("mail.from", default: "Atelier <no-reply@atelier.local>"))
        }
        mailPollInterval = try c.seconds("mail.poll-seconds", default: 5)
        housekeepingInterval = .seconds(60 * (try c.int("auth.housekeeping-minutes", default: 60, range: 1...10_080)))
    }
}
