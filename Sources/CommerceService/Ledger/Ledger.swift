import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

typealias MovementResponse = Atelier_Commerce_V1_MovementResponse
typealias HoldInfo = Atelier_Commerce_V1_HoldInfo

/// The credit ledger: grants, holds, settles and releases, each in one transaction and under an
/// idempotency key. A hold draws from the grants that expire first; a balance never goes below
/// zero, because a hold takes only what unexpired grants still have, read under the wallet's
/// row lock. A Hold and its Settle cost 12 statements between them, BEGIN and COMMIT included
/// (`LedgerRoundTripTests`): upkeep that is due comes first in a transaction of its own.
struct Ledger: Sendable {
    static let grantSources: Set<String> = ["signup", "daily", "monthly", "subscription", "pack", "refund", "admin"]
    static let defaultHoldSeconds = 3600
    static let maxHoldSeconds = 86_400

    let database: any Database
    let prices: PriceList
    let upkeep: WalletUpkeep
    let clock: ServiceClock

    func grant(_ request: Atelier_Commerce_V1_GrantRequest, user: String) async throws -> MovementResponse {
        guard prices.assets.contains(request.asset) else { throw ServiceError.invalid("asset", "unknown asset \"\(request.asset)\"") }
        guard request.amount > 0, request.amount <= 1_000_000 else { throw ServiceError.invalid("amount", "amount must be 1 to 1000000") }
        guard Self.grantSources.contains(request.source) else {
            throw ServiceError.invalid("source", "source must be one of \(Self.grantSources.sorted().joined(separator: ", "))")
        }
        guard request.reference.count <= 200 else { throw ServiceError.invalid("reference", "reference must be at most 200 characters") }
        let expiresAt = request.hasExpiresAt ? request.expiresAt.date : nil
        if let expiresAt, expiresAt <= clock.now() { throw ServiceError.invalid("expiresAt", "expiresAt must be in the future") }
        return try await movement("grant", request, user: user) { tx, now in
            try await upkeep.open(tx, user: user, now: now)
            let id = try await WalletUpkeep.addGrant(tx, user: user, asset: request.asset, amount: request.amount, source: request.source,
                                                     reference: request.reference.isEmpty ? nil : request.reference,
                                                     expiresAt: expiresAt, now: now)
            let balance = try await AssetBalances.of(tx, user: user, asset: request.asset, now: now)
            return .with {
                $0.grantID = id
                $0.balance = balance
            }
        }
    }

    func hold(_ request: Atelier_Commerce_V1_HoldRequest, user: String) async throws -> MovementResponse {
        let terms = try holdTerms(request)
        return try await movement("hold", request, user: user) { tx, now in
            let state = try await WalletState.read(tx, user: user, assets: terms.candidates.map(\.asset), now: now)
            guard let draw = state.draw(terms.candidates) else {
                let wanted = terms.candidates.map { "\($0.amount) \($0.asset)" }.joined(separator: " or ")
                throw ServiceError(.failedPrecondition, reason: "INSUFFICIENT_CREDITS", "not enough balance: needs \(wanted)")
            }
            let placed = PlacedHold(user: user, hold: Self.newHold(request, draw: draw, ttl: terms.ttl, now: now), draw: draw)
            try await Self.record([placed], in: tx, now: now)
            return .with {
                $0.hold = placed.hold
                $0.balance = state.balance(after: draw)
            }
        }
    }

    /// What a hold asks for: the assets and amounts it may draw from, in order, and how long it lasts.
    func holdTerms(_ request: Atelier_Commerce_V1_HoldRequest) throws -> (candidates: [(asset: String, amount: Int64)], ttl: Int) {
        let candidates: [(asset: String, amount: Int64)]
        if !request.asset.isEmpty {
            guard prices.assets.contains(request.asset) else { throw ServiceError.invalid("asset", "unknown asset \"\(request.asset)\"") }
            guard request.amount > 0, request.amount <= 1_000_000 else { throw ServiceError.invalid("amount", "amount must be 1 to 1000000") }
            candidates = [(request.asset, request.amount)]
        } else {
            guard let cost = prices.cost(of: request.operation) else {
                throw ServiceError.invalid("operation", "give a known operation or an asset and amount")
            }
            candidates = cost.drawsFrom.map { ($0.asset, $0.amount) }
        }
        guard request.jobID.count <= 200 else { throw ServiceError.invalid("jobId", "jobId must be at most 200 characters") }
        let ttl = request.ttlSeconds == 0 ? Self.defaultHoldSeconds : Int(request.ttlSeconds)
        guard (1...Self.maxHoldSeconds).contains(ttl) else { throw ServiceError.invalid("ttlSeconds", "ttlSeconds must be 1 to 86400") }
        return (candidates, ttl)
    }

    typealias Draw = (asset: String, amount: Int64, parts: [(grant: GrantRow, take: Int64)])

    /// A hold about to be recorded: whose, what, and what it takes from which grants.
    struct PlacedHold {
        let user: String
        let hold: HoldInfo
        let draw: Draw
    }

    static func newHold(_ request: Atelier_Commerce_V1_HoldRequest, draw: Draw, ttl: Int, now: Date) -> HoldInfo {
        .with {
            $0.id = SecureRandom.id(prefix: "hold")
            $0.asset = draw.asset
            $0.amount = draw.amount
            $0.operation = request.operation.isEmpty ? draw.asset : request.operation
            $0.jobID = request.jobID
            $0.status = "held"
            $0.expiresAt = .init(date: now.addingTimeInterval(TimeInterval(ttl)))
            $0.createdAt = .init(date: now)
        }
    }

    /// Records holds, of one wallet or several, in three statements: the holds, what they take from
    /// their grants, and their ledger entries.
    static func record(_ placed: [PlacedHold], in tx: any SQLExecutor, now: Date) async throws {
        let holds = SQL.rows(placed.map { placed in
            let hold = placed.hold
            return [.text(hold.id), .text(placed.user), .text(hold.asset), .int(hold.amount), .text(hold.operation), .text(hold.jobID),
                    .text("held"), .time(hold.expiresAt.date), .time(now)]
        })
        try await tx.query("""
            INSERT INTO holds (id, user_id, asset, amount, operation, job_id, status, expires_at, created_at) VALUES \(holds)
            """)
        var taken: [(grant: String, take: Int64)] = []
        for part in placed.flatMap(\.draw.parts) {
            if let index = taken.firstIndex(where: { $0.grant == part.grant.id }) { taken[index].take += part.take } else { taken.append((part.grant.id, part.take)) }
        }
        try await tx.query("""
            UPDATE grants SET remaining = remaining - CASE id \(SQL.join(taken.map { "WHEN \($0.grant) THEN \($0.take)" }, separator: " ")) END
            WHERE id IN (\(list: taken.map { .text($0.grant) }))
            """)
        try await LedgerEntries.append(tx, placed.flatMap { placed in
            placed.draw.parts.map { part in
                (placed.user, LedgerEntries.Entry(asset: placed.draw.asset, amount: -part.take, kind: .hold, source: part.grant.source, grantID: part.grant.id,
                                                  holdID: placed.hold.id, reference: placed.hold.jobID.isEmpty ? nil : placed.hold.jobID))
            }
        }, now: now)
    }

    func settle(_ request: Atelier_Commerce_V1_SettleRequest, user: String) async throws -> MovementResponse {
        try await movement("settle", request, user: user) { tx, now in
            // The hold turns settled and says the balance after, in one statement.
            if let row = try await tx.first("""
                UPDATE holds SET status = 'settled', finished_at = \(now)
                WHERE id = \(request.holdID) AND user_id = \(user) AND status = 'held' AND expires_at > \(now)
                RETURNING \(Self.holdColumns), \(AssetBalances.columns(user: "holds.user_id", asset: "holds.asset", now: now, excludingHold: "holds.id"))
                """) {
                let hold = try Self.hold(row)
                try await LedgerEntries.append(tx, user: user, [.init(asset: hold.asset, amount: 0, kind: .settle, source: "spend",
                                                                      holdID: hold.id, reference: hold.jobID.isEmpty ? nil : hold.jobID)],
                                               now: now)
                let balance = try AssetBalances.read(row, asset: hold.asset)
                return .with {
                    $0.hold = hold
                    $0.balance = balance
                }
            }
            let hold = try await Self.hold(tx, id: request.holdID, user: user)
            guard hold.status == "settled" else { throw Self.notOpen(hold, now: now, for: "settled") }
            return try await Self.reply(tx, hold: hold, user: user, now: now)
        }
    }

    func release(_ request: Atelier_Commerce_V1_ReleaseRequest, user: String) async throws -> MovementResponse {
        try await movement("release", request, user: user) { tx, now in
            try await upkeep.open(tx, user: user, now: now)
            var hold = try await Self.hold(tx, id: request.holdID, user: user)
            switch hold.status {
            case "held":
                try await WalletUpkeep.returnHold(tx, user: user, holdID: hold.id, jobID: hold.jobID, status: "released", now: now)
                hold.status = "released"
            case "released", "expired":
                break
            default:
                throw Self.notOpen(hold, now: now, for: "released")
            }
            return try await Self.reply(tx, hold: hold, user: user, now: now)
        }
    }

    /// Runs `body` in a transaction and records its reply under the request's idempotency key.
    /// A key seen before is found only when it is needed: recording the reply fails on the key's
    /// unique index (or `body` fails, say for want of credits, where the first call succeeded),
    /// and the first reply is returned instead, or 409 for a different request. Upkeep the wallet
    /// needs runs first in a transaction of its own, so what it records stays even when the
    /// movement is then refused.
    private func movement<R: MovementRequest>(
        _ kind: String, _ request: R, user: String,
        _ body: @Sendable @escaping (any SQLExecutor, Date) async throws -> MovementResponse
    ) async throws -> MovementResponse {
        let key = try Self.key(of: request)
        let fingerprint = try MovementRecords.fingerprint(kind, request)
        var upkeepDone = false
        while true {
            do {
                return try await database.transaction { tx in
                    let now = clock.now()
                    var reply = try await body(tx, now)
                    reply.movementID = SecureRandom.id(prefix: "mv")
                    try await MovementRecords.insert(tx, user: user, key: key, fingerprint: fingerprint, reply: reply, now: now)
                    return reply
                }
            } catch is WalletUpkeep.Due where !upkeepDone {
                upkeepDone = true
                try await database.transaction { tx in try await upkeep.open(tx, user: user, now: clock.now()) }
            } catch {
                if let replay = try await MovementRecords.replay(database, user: user, key: key, fingerprint: fingerprint) { return replay }
                throw error
            }
        }
    }

    /// The idempotency key every movement carries, single or in a batch.
    static func key(of request: some MovementRequest) throws -> String {
        let key = request.idempotencyKey
        guard !key.isEmpty, key.count <= 200 else {
            throw ServiceError.invalid("idempotencyKey", "idempotencyKey is required (at most 200 characters)")
        }
        return key
    }

    // MARK: Holds

    static let holdColumns: SQL = "id, asset, amount, operation, job_id, status, expires_at, created_at"

    static func hold(_ row: SQLRow) throws -> HoldInfo {
        try .with {
            $0.id = try row.string("id")
            $0.asset = try row.string("asset")
            $0.amount = try row.int("amount")
            $0.operation = try row.string("operation")
            $0.jobID = try row.string("job_id")
            $0.status = try row.string("status")
            $0.expiresAt = try row.timestamp("expires_at")
            $0.createdAt = try row.timestamp("created_at")
        }
    }

    static func hold(_ db: any SQLExecutor, id: String, user: String) async throws -> HoldInfo {
        guard let row = try await db.first("SELECT \(holdColumns) FROM holds WHERE id = \(id) AND user_id = \(user)") else {
            throw ServiceError.notFound("hold")
        }
        return try hold(row)
    }

    /// A hold and its asset's balance now.
    static func reply(_ db: any SQLExecutor, hold: HoldInfo, user: String, now: Date) async throws -> MovementResponse {
        let balance = try await AssetBalances.of(db, user: user, asset: hold.asset, now: now)
        return .with {
            $0.hold = hold
            $0.balance = balance
        }
    }

    static func notOpen(_ hold: HoldInfo, now: Date, for action: String) -> ServiceError {
        let state = hold.status == "held" && hold.expiresAt.date <= now ? "expired" : hold.status
        return ServiceError(.failedPrecondition, reason: "HOLD_NOT_OPEN", "hold \(hold.id) was \(state) and cannot be \(action)")
    }
}
