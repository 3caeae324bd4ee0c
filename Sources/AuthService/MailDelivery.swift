import Foundation
import Logging
import ServiceKit

/// Delivers the mail outbox over SMTP (AuthServer runs it every `mail.poll-seconds`): sends each
/// pending message and marks it sent (clearing its body) or failed; a message is tried up to ten
/// times, then left for an operator.
struct MailDelivery: Sendable {
    let outbox: MailOutbox
    let client: SMTPClient
    let logger: Logger

    func deliverPending() async {
        do {
            for message in try await outbox.pending(limit: 20) {
                do {
                    try await client.send(to: message.recipient, subject: message.subject, body: message.body, messageID: message.id)
                    try await outbox.markSent(id: message.id, now: Date.databaseNow)
                    logger.info("mail sent", metadata: ["mailID": "\(message.id)", "kind": "\(message.kind)"])
                } catch {
                    try await outbox.markFailed(id: message.id, error: String(describing: error))
                    logger.warning("mail not sent", metadata: ["mailID": "\(message.id)", "error": "\(error)"])
                }
            }
        } catch {
            logger.error("mail outbox unreadable", metadata: ["error": "\(error)"])
        }
    }
}
