import AtelierProtos
import Foundation
import ServiceKit

extension Ledger {
    static let maxSettlesInBatch = 100

    /// Settles the holds of several finished jobs in one transaction of five statements (the
    /// holds, their entries, their movement records, BEGIN and COMMIT) instead of five each:
    /// generation sends the settles of jobs that finish together (`CallBatcher`). All or none:
    /// a hold that is not open fails the batch as BATCH_NOT_SETTLED and the caller settles each
    /// with `settle`, which tells a retry from a refusal; that is also why a batch looks up no
    /// earlier replies. Each settle is recorded under its key with Settle's fingerprint, so a
    /// later Settle with that key gets this reply back. `requests` come with their wallets.
    func settle(batch requests: [(user: String, request: Atelier_Commerce_V1_SettleRequest)]) async throws -> [MovementResponse] {
        guard (1...Self.maxSettlesInBatch).contains(requests.count) else {
            throw ServiceError.invalid("settles", "settles must hold 1 to \(Self.maxSettlesInBatch) settles")
        }
        let records = try requests.map { user, request in
            guard !request.holdID.isEmpty else { throw ServiceError.invalid("holdId", "every settle needs its holdId") }
            return (user: user, hold: request.holdID, key: try Self.key(of: request), fingerprint: try MovementRecords.fingerprint("settle", request))
        }
        let holdIDs = records.map(\.hold)
        guard Set(holdIDs).count == holdIDs.count else { throw ServiceError.invalid("settles", "each settle of a batch is of another hold") }
        let clock = self.clock
        do {
            return try await database.transaction { tx in
                let now = clock.now()
                let owned = SQL.join(records.map { "(\($0.hold), \($0.user))" }, separator: ", ")
                let rows = try await tx.query("""
                    UPDATE holds SET status = 'settled', finished_at = \(now)
                    WHERE (id, user_id) IN (\(owned)) AND status = 'held' AND expires_at > \(now)
                    RETURNING \(Self.holdColumns), user_id,
                        \(AssetBalances.columns(user: "holds.user_id", asset: "holds.asset", now: now, excludingHolds: holdIDs))
                    """)
                guard rows.count == records.count else { throw Self.batchNotSettled }
                var settled: [String: MovementResponse] = [:]
                var entries: [(user: String, entry: LedgerEntries.Entry)] = []
                for row in rows {
                    let hold = try Self.hold(row)
                    entries.append((try row.string("user_id"), .init(asset: hold.asset, amount: 0, kind: .settle, source: "spend", holdID: hold.id,
                                                                     reference: hold.jobID.isEmpty ? nil : hold.jobID)))
                    settled[hold.id] = try .with {
                        $0.movementID = SecureRandom.id(prefix: "mv")
                        $0.hold = hold
                        $0.balance = try AssetBalances.read(row, asset: hold.asset)
                    }
                }
                try await LedgerEntries.append(tx, entries, now: now)
                let replies = try records.map { record in
                    guard let reply = settled[record.hold] else { throw Self.batchNotSettled }
                    return reply
                }
                try await MovementRecords.insert(tx, zip(records, replies).map { record, reply in
                    MovementRecords.Record(user: record.user, key: record.key, fingerprint: record.fingerprint, reply: reply)
                }, now: now)
                return replies
            }
        } catch DatabaseError.uniqueViolation {
            // A key recorded before: one of these settles was made already.
            throw Self.batchNotSettled
        }
    }

    static let batchNotSettled = ServiceError(.failedPrecondition, reason: "BATCH_NOT_SETTLED",
                                              "a hold of the batch is not open or was settled before; settle them one by one")
}
