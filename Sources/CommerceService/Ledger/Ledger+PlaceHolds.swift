import AtelierProtos
import Foundation
import ServiceKit

extension Ledger {
    static let maxHoldsInBatch = 100

    /// Places the holds of several submits in one transaction: a read of each wallet, then the
    /// holds, what they take from their grants, their entries and their movement records in one
    /// statement each, instead of seven statements a hold. Generation sends the holds of submits
    /// that arrive together (`CallBatcher`). All or none: a hold the balance cannot cover, a wallet
    /// whose upkeep is due or a key seen before fails the batch as BATCH_NOT_HELD, and the caller
    /// places each with `hold`, which answers each exactly (a refusal, a retry's first reply) and
    /// does the upkeep. Holds of one wallet draw one after another in the order given, as if
    /// placed so; each is recorded under its key with Hold's fingerprint.
    func hold(batch requests: [(user: String, request: Atelier_Commerce_V1_HoldRequest)]) async throws -> [MovementResponse] {
        guard (1...Self.maxHoldsInBatch).contains(requests.count) else {
            throw ServiceError.invalid("holds", "holds must hold 1 to \(Self.maxHoldsInBatch) holds")
        }
        let asked = try requests.map { user, request in
            (user: user, request: request, key: try Self.key(of: request), terms: try holdTerms(request),
             fingerprint: try MovementRecords.fingerprint("hold", request))
        }
        guard Set(asked.map { "\($0.user) \($0.key)" }).count == asked.count else {
            throw ServiceError.invalid("holds", "each hold of a batch has a key of its own")
        }
        let clock = self.clock
        do {
            return try await database.transaction { tx in
                let now = clock.now()
                // Wallets in one order, so two batches never wait on each other's grants in a circle.
                var wallets: [String: WalletState] = [:]
                for user in Set(asked.map(\.user)).sorted() {
                    let assets = Set(asked.filter { $0.user == user }.flatMap { $0.terms.candidates.map(\.asset) }).sorted()
                    wallets[user] = try await WalletState.read(tx, user: user, assets: assets, now: now)
                }
                var placed: [PlacedHold] = []
                var replies: [MovementResponse] = []
                for hold in asked {
                    guard var wallet = wallets[hold.user], let draw = wallet.draw(hold.terms.candidates) else { throw Self.batchNotHeld }
                    let made = PlacedHold(user: hold.user, hold: Self.newHold(hold.request, draw: draw, ttl: hold.terms.ttl, now: now), draw: draw)
                    replies.append(.with {
                        $0.movementID = SecureRandom.id(prefix: "mv")
                        $0.hold = made.hold
                        $0.balance = wallet.balance(after: draw)
                    })
                    wallet.take(draw)
                    wallets[hold.user] = wallet
                    placed.append(made)
                }
                try await Self.record(placed, in: tx, now: now)
                try await MovementRecords.insert(tx, zip(asked, replies).map { hold, reply in
                    MovementRecords.Record(user: hold.user, key: hold.key, fingerprint: hold.fingerprint, reply: reply)
                }, now: now)
                return replies
            }
        } catch is WalletUpkeep.Due {
            throw Self.batchNotHeld
        } catch DatabaseError.uniqueViolation {
            throw Self.batchNotHeld
        }
    }

    static let batchNotHeld = ServiceError(.failedPrecondition, reason: "BATCH_NOT_HELD",
                                           "a hold of the batch cannot be placed as it stands; place them one by one")
}
