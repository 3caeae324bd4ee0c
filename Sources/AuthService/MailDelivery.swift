import Foundation
import Logging
import ServiceKit
import ServiceLifecycle

/// Delivers the mail outbox over SMTP: each pending message is sent and marked sent (its body
/// cleared) or failed; a message is tried up to ten times, then left for an operator. A message
/// goes out as soon as it is queued (the RPC that queued it rings `bell`), and the outbox is
/// looked at every `mail.poll-seconds` as well, for what an earlier try could not send.
struct MailDelivery: Service {
    let outbox: MailOutbox
    let client: SMTPClient
    let bell: MailBell
    let interval: Duration
    let ready: @Sendable () async throws -> Void
    let logger: Logger

    func run() async throws {
        try await ready()
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        bell.ring()
                    }
                }
                bell.ring()
                for await _ in bell.rings {
                    await deliverPending()
                    if Task.isCancelled { break }
                }
                group.cancelAll()
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
        } catch is CancellationError {
            // Shutting down: what is left goes at the next start.
        } catch {
            logger.error("mail outbox unreadable", metadata: ["error": "\(error)"])
        }
    }
}

/// Wakes the delivery when a message is queued. Rings that come while it is busy fold into one.
final class MailBell: Sendable {
    let rings: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (rings, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func ring() { continuation.yield() }
}
