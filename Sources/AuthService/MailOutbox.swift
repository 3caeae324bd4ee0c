import Foundation
import Logging
import ServiceKit

/// Messages to users are written to `mail_outbox` in the same transaction as the change that
/// caused them, so a message is never sent for a change that did not happen, nor lost for one
/// that did. A `MailSender` delivers them afterwards; without SMTP configured they stay in the
/// table and in the log, where a developer reads them.
struct MailOutbox: Sendable {
    struct Message: Sendable {
        let id: String
        let kind: String
        let recipient: String
        let subject: String
        let body: String
    }

    let database: any Database

    @discardableResult
    func enqueue(kind: String, to recipient: String, subject: String, body: String, now: Date,
                 on executor: any SQLExecutor) async throws -> Message {
        let message = Message(id: SecureRandom.id(prefix: "mail"), kind: kind, recipient: recipient, subject: subject, body: body)
        try await executor.query("""
            INSERT INTO mail_outbox (id, kind, recipient, subject, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)
            """, .text(message.id), .text(kind), .text(recipient), .text(subject), .text(body), .time(now))
        return message
    }

    func pending(limit: Int) async throws -> [Message] {
        try await database.query("""
            SELECT id, kind, recipient, subject, body FROM mail_outbox
            WHERE sent_at IS NULL AND attempts < 10 ORDER BY created_at LIMIT $1
            """, .int(Int64(limit))).map { row in
            Message(id: try row.string("id"), kind: try row.string("kind"), recipient: try row.string("recipient"),
                    subject: try row.string("subject"), body: try row.string("body"))
        }
    }

    /// After delivery the body, which holds a one-time link, is cleared: the hash of the token
    /// stays in its own table, and the outbox need not keep a working link around.
    func markSent(id: String, now: Date) async throws {
        try await database.query(
            "UPDATE mail_outbox SET sent_at = $2, attempts = attempts + 1, body = '', last_error = NULL WHERE id = $1",
            .text(id), .time(now))
    }

    func markFailed(id: String, error: String) async throws {
        try await database.query(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1", .text(id), .text(error))
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
