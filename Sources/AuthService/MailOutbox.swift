import Foundation
import Logging
import ServiceKit

/// Messages to users are written to `mail_outbox` in the same transaction as the change that
/// caused them, so a message is never sent for a change that did not happen, nor lost for one
/// that did. A `MailDelivery` sends them over SMTP afterwards and then clears the body, which
/// holds a one-time link. Without SMTP the log is the delivery (`AuthRPC.logMail` writes the
/// message there): the row is recorded as delivered with its body already cleared, so no
/// working link is ever kept at rest.
struct MailOutbox: Sendable {
    struct Message: Sendable {
        let id, kind, recipient, subject, body: String
    }

    let database: any Database
    /// No SMTP server: messages go to the log only.
    let deliversToLog: Bool

    @discardableResult
    func enqueue(kind: String, to recipient: String, subject: String, body: String, now: Date,
                 on executor: any SQLExecutor, key: String? = nil) async throws -> Message {
        let message = Message(id: SecureRandom.id(prefix: "mail"), kind: kind, recipient: recipient, subject: subject, body: body)
        try await executor.query("""
            INSERT INTO mail_outbox (id, kind, recipient, subject, body, created_at, sent_at, dedupe_key)
            VALUES (\(message.id), \(kind), \(recipient), \(subject), \(deliversToLog ? "" : body), \(now), \(deliversToLog ? now : nil), \(key))
            """)
        return message
    }

    func pending(limit: Int) async throws -> [Message] {
        try await database.query("""
            SELECT id, kind, recipient, subject, body FROM mail_outbox
            WHERE sent_at IS NULL AND attempts < 10 ORDER BY created_at LIMIT \(limit)
            """).map { row in
            Message(id: try row.string("id"), kind: try row.string("kind"), recipient: try row.string("recipient"),
                    subject: try row.string("subject"), body: try row.string("body"))
        }
    }

    /// After delivery the body, which holds a one-time link, is cleared: the hash of the token
    /// stays in its own table, and the outbox need not keep a working link around.
    func markSent(id: String, now: Date) async throws {
        try await database.query(
            "UPDATE mail_outbox SET sent_at = \(now), attempts = attempts + 1, body = '', last_error = NULL WHERE id = \(id)")
    }

    func markFailed(id: String, error: String) async throws {
        try await database.query(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = \(error) WHERE id = \(id)")
    }
}

/// The texts of the messages the auth service sends.
struct MailTemplates: Sendable {
    let appURL: String

    func verification(token: String) -> (subject: String, body: String) {
        ("Confirm your email address",
         """
         Welcome to Atelier!

         Confirm your email address by opening this link within 24 hours:
         \(appURL)/verify-email?token=\(token)

         If you did not create an account, you can ignore this message.
         """)
    }

    func passwordReset(token: String, minutes: Int) -> (subject: String, body: String) {
        ("Reset your password",
         """
         Someone asked to reset the password of your Atelier account.

         Choose a new password by opening this link within \(minutes) minutes:
         \(appURL)/reset-password?token=\(token)

         If it was not you, ignore this message: your password stays as it is.
         """)
    }
}
