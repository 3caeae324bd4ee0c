import AtelierProtos
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceKit

/// Removes a deleted account's data from the services that hold it: the catalog's rows and the
/// files the user uploaded, generation's jobs, and commerce's wallet and subscription (billing stops).
///
/// Auth records every deleted account until its purge is complete. The deleting edge purges at
/// once; `sweep`, run every `edge.purge-sweep-seconds`, claims the accounts whose purge did not
/// finish (a service was down, the edge stopped halfway) and tries them again with growing
/// pauses, so none is forgotten. Every purge is safe to repeat.
///
/// A purge counts as complete only once `settle` (the principal lifetime) has passed since the
/// deletion: until then a request signed before it, in flight or through another edge's session
/// cache, could still write, so the sweep purges once more after that.
struct AccountPurger: Sendable {
    let upstreams: Upstreams
    let blobs: any BlobStore
    /// The first pause before a claimed account is due again; auth doubles it per attempt.
    let retryPause: Duration
    /// How long after a deletion a write signed for the account may still arrive.
    let settle: Duration
    let logger: Logger

    enum Outcome: Equatable {
        /// A service could not be purged; the sweep tries again.
        case unfinished
        /// Purged, but a late write could still come; the sweep purges once more.
        case unsettled
        /// Purged after the last principal expired; auth no longer holds the account.
        case complete
    }

    /// Purges every service and, when all succeeded and the deletion has settled, tells auth
    /// the account is done.
    @discardableResult
    func purge(user: String, deletedAt: Date) async -> Outcome {
        // The services hold nothing of each other's: their purges run side by side.
        async let catalogPurged = purgeCatalog(user: user)
        async let commerceClosed = closeCommerce(user: user)
        async let jobsPurged = purgeJobs(user: user)
        guard await (catalogPurged, commerceClosed, jobsPurged) == (true, true, true) else { return .unfinished }
        guard Date().timeIntervalSince(deletedAt) >= TimeInterval(settle.components.seconds) else { return .unsettled }
        do {
            _ = try await upstreams.auth.call(AuthMethods.CompleteAccountPurge.self, .with { $0.userID = user }, metadata: try upstreams.asEdge())
            return .complete
        } catch {
            // The purge is done; the next sweep repeats it harmlessly and completes it then.
            logger.warning("could not mark a deleted account's purge complete", metadata: ["user": "\(user)", "error": "\(error)"])
            return .unfinished
        }
    }

    /// One pass over the deleted accounts whose purge is due, as many batches as are due.
    func sweep() async {
        let batch = 20
        while !Task.isCancelled {
            let due: [Atelier_Auth_V1_AccountPurge]
            do {
                due = try await upstreams.auth.call(AuthMethods.ClaimAccountPurges.self, .with {
                        $0.limit = Int32(batch)
                        $0.retryAfterSeconds = Int32(clamping: max(retryPause.components.seconds, 1))
                    },
                    metadata: try upstreams.asEdge()
                ).purges
            } catch {
                logger.warning("could not ask auth for deleted accounts awaiting their purge", metadata: ["error": "\(error)"])
                return
            }
            for account in due {
                let metadata: Logger.Metadata = ["user": "\(account.userID)", "attempt": "\(account.attempts + 1)"]
                switch await purge(user: account.userID, deletedAt: account.deletedAt.date) {
                case .complete: logger.info("finished the purge of a deleted account", metadata: metadata)
                case .unsettled: logger.debug("purged a deleted account; once more after its last principals expire", metadata: metadata)
                case .unfinished: logger.warning("the purge of a deleted account is still unfinished; it will be tried again", metadata: metadata)
                }
            }
            // Claimed accounts are pushed back, so a full batch means more may be due, never the same ones.
            if due.count < batch { return }
        }
    }

    /// The catalog's rows of a deleted account, then the files it uploaded. The catalog keeps
    /// the record of each file until it is reported removed, so files the blob store could not
    /// remove now are named again by the next sweep's purge.
    private func purgeCatalog(user: String) async -> Bool {
        do {
            let purge = { (removed: [String]) in
                try await Self.retrying {
                    try await upstreams.catalog.call(CatalogMethods.PurgeUser.self, .with { $0.userID = user; $0.removedStorageKeys = removed },
                                                metadata: try upstreams.asEdge())
                }
            }
            var purged = try await purge([])
            logger.info("purged catalog rows of a deleted account", metadata: ["user": "\(user)", "rows": "\(purged.deleted)"])
            while !purged.storageKeys.isEmpty {
                var removed: [String] = []
                for key in purged.storageKeys.prefix(1000) {
                    do {
                        try await blobs.delete(key: key)
                        removed.append(key)
                    } catch {
                        logger.warning("could not remove a deleted account's file", metadata: ["key": "\(key)", "error": "\(error)"])
                    }
                }
                if removed.isEmpty { return false }
                purged = try await purge(removed)
                // Files whose upload link still works stay recorded however often they are removed:
                // one may yet land. The sweep comes back for them once the links have expired.
                if purged.awaitingLinkExpiry > 0, purged.awaitingLinkExpiry == Int64(purged.storageKeys.count) { return false }
            }
            return true
        } catch {
            logger.warning("catalog purge after account deletion failed", metadata: ["user": "\(user)", "error": "\(error)"])
            return false
        }
    }

    /// Generation's jobs of a deleted account and their events; open holds are released.
    private func purgeJobs(user: String) async -> Bool {
        do {
            let purged = try await Self.retrying {
                try await upstreams.generation.call(GenerationMethods.PurgeUser.self, .with { $0.userID = user }, metadata: try upstreams.asEdge())
            }
            logger.info("purged generation jobs of a deleted account", metadata: ["user": "\(user)", "jobs": "\(purged.deleted)"])
            return true
        } catch {
            logger.warning("generation purge after account deletion failed", metadata: ["user": "\(user)", "error": "\(error)"])
            return false
        }
    }

    /// Commerce's closing of a deleted account: billing stops, the wallet goes.
    private func closeCommerce(user: String) async -> Bool {
        do {
            let closed = try await Self.retrying {
                try await upstreams.commerce.call(CommerceMethods.PurgeUser.self, .with { $0.userID = user }, metadata: try upstreams.asEdge())
            }
            logger.info("closed commerce records of a deleted account", metadata: [
                "user": "\(user)", "rows": "\(closed.deleted)", "subscriptionCanceled": "\(closed.subscriptionCanceled)"])
            return true
        } catch {
            logger.warning("commerce purge after account deletion failed", metadata: ["user": "\(user)", "error": "\(error)"])
            return false
        }
    }

    /// Runs a purge again while it fails as Unavailable (a dropped connection, the payment
    /// provider's brief outage), three times in all with growing pauses, so a brief outage is
    /// ridden out now rather than at the next sweep. A call that ran out its deadline is not
    /// repeated: it already waited that long for its service (`waitForReady`), and the person
    /// is waiting too.
    static func retrying<T>(attempts: Int = 3, pause: Duration = .milliseconds(300), _ body: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch let error as RPCError where attempt < attempts && error.code == .unavailable {
                try await Task.sleep(for: pause * attempt)
                attempt += 1
            }
        }
    }
}
