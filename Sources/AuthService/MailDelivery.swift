import Foundation
import Logging
import ServiceKit
import ServiceLifecycle

/// Delivers the mail outbox over SMTP: polls for pending messages, sends each, and marks it sent
/// (clearing its body) or failed; a message is tried up to ten times, then left for an operator.
struct MailDelivery: Service {
    let outbox: MailOutbox
    let client: SMTPClient
    let interval: Duration
    let logger: Logger
    /// Returns once the server listens, and so once the migrations have made the outbox.
    let ready: @Sendable () async throws -> Void

    func run() async throws {
        try await ready()
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await deliverPending()
                try? await Task.sleep(for: interval)
            }
        }
    }

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
