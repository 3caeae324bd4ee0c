import AtelierProtos
import Crypto
import Foundation
import GRPCCore
import ServiceKit
import SwiftProtobuf

/// The credit ledger: grants, holds, settles and releases, each in one transaction on a locked
/// wallet and each under an idempotency key. A hold draws from the grants that expire first; a
/// balance never goes below zero, because a hold takes only what unexpired grants still have.
struct Ledger: Sendable {
    static let grantSources: Set<String> = ["signup", "daily", "monthly", "subscription", "pack", "refund", "admin"]
    static let defaultHoldSeconds = 3600
    static let maxHoldSeconds = 86_400

    let database: any Database
    let prices: PriceList
    let wallets: Wallets

    // MARK: Movements under idempotency keys

    func grant(_ request: Atelier_Commerce_V1_GrantRequest, user: String) async throws -> Atelier_Commerce_V1_MovementResponse {
        guard prices.assets.contains(request.asset) else { throw ServiceError.invalid("asset", "unknown asset \"\(request.asset)\"") }
        guard request.amount > 0, request.amount <= 1_000_000 else { throw ServiceError.invalid("amount", "amount must be 1 to 1000000") }
        guard Self.grantSources.contains(request.source) else {
            throw ServiceError.invalid("source", "source must be one of \(Self.grantSources.sorted().joined(separator: ", "))")
        }
        guard request.reference.count <= 200 else { throw ServiceError.invalid("reference", "reference must be at most 200 characters") }
        return try await movement("grant", user: user, key: request.idempotencyKey, request: request) { tx, now in
            let expiresAt = request.hasExpiresAt ? request.expiresAt.date : nil
            if let expiresAt, expiresAt <= now { throw ServiceError.invalid("expires_at", "expires_at must be in the future") }
            let id = try await Self.addGrant(tx, user: user, asset: request.asset, amount: request.amount, source: request.source,
                                             reference: request.reference.isEmpty ? nil : request.reference, expiresAt: expiresAt, now: now)
            return try await reply(tx, user: user, now: now, asset: request.asset, grantID: id)
        }
    }

    func hold(_ request: Atelier_Commerce_V1_HoldRequest, user: String) async throws -> Atelier_Commerce_V1_MovementResponse {
        let candidates: [Atelier_Commerce_V1_AssetAmount]
        if !request.asset.isEmpty {
            guard prices.assets.contains(request.asset) else { throw ServiceError.invalid("asset", "unknown asset \"\(request.asset)\"") }
            guard request.amount > 0, request.amount <= 1_000_000 else { throw ServiceError.invalid("amount", "amount must be 1 to 1000000") }
            candidates = [.with { $0.asset = request.asset; $0.amount = request.amount }]
        } else {
            guard let cost = prices.cost(of: request.operation) else {
                throw ServiceError.invalid("operation", "give a known operation or an asset and amount")
            }
            candidates = cost.drawsFrom
        }
        guard request.jobID.count <= 200 else { throw ServiceError.invalid("job_id", "job_id must be at most 200 characters") }
        let ttl = request.ttlSeconds == 0 ? Self.defaultHoldSeconds : Int(request.ttlSeconds)
        guard (1...Self.maxHoldSeconds).contains(ttl) else { throw ServiceError.invalid("ttl_seconds", "ttl_seconds must be 1 to 86400") }

        return try await movement("hold", user: user, key: request.idempotencyKey, request: request) { tx, now in
            for candidate in candidates {
                let grants = try await tx.query(
                    """
                    SELECT id, remaining, source FROM grants
                    WHERE user_id = $1 AND asset = $2 AND remaining > 0 AND (expires_at IS NULL OR expires_at > $3)
                    ORDER BY (expires_at IS NULL), expires_at, created_at, id
                    """, .text(user), .text(candidate.asset), .time(now))
                let available = try grants.reduce(Int64(0)) { $0 + (try $1.int("remaining")) }
                guard available >= candidate.amount else { continue }

                let holdID = SecureRandom.id(prefix: "hold")
                let expiresAt = now.addingTimeInterval(TimeInterval(ttl))
                let operation = request.operation.isEmpty ? candidate.asset : request.operation
                try await tx.query(
                    """
                    INSERT INTO holds (id, user_id, asset, amount, operation, job_id, status, expires_at, created_at)
                    VALUES ($1, $2, $3, $4, $5, $6, 'held', $7, $8)
                    """, .text(holdID), .text(user), .text(candidate.asset), .int(candidate.amount), .text(operation),
                    .text(request.jobID), .time(expiresAt), .time(now))
                var needed = candidate.amount
                for grant in grants where needed > 0 {
                    let grantID = try grant.string("id")
                    let take = min(needed, try grant.int("remaining"))
                    needed -= take
                    try await tx.query("UPDATE grants SET remaining = remaining - $1 WHERE id = $2", .int(take), .text(grantID))
                    try await tx.query("INSERT INTO hold_parts (hold_id, grant_id, amount) VALUES ($1, $2, $3)",
                                       .text(holdID), .text(grantID), .int(take))
                    try await LedgerEntries.append(tx, user: user, asset: candidate.asset, amount: -take, kind: .hold,
                                                   source: try grant.string("source"), grantID: grantID, holdID: holdID,
                                                   reference: request.jobID.isEmpty ? nil : request.jobID, now: now)
                }
                return try await reply(tx, user: user, now: now, asset: candidate.asset, holdID: holdID)
            }
            let wanted = candidates.map { "\($0.amount) \($0.asset)" }.joined(separator: " or ")
            throw ServiceError(.failedPrecondition, reason: "INSUFFICIENT_CREDITS", "not enough balance: needs \(wanted)")
        }
    }

    func settle(_ request: Atelier_Commerce_V1_SettleRequest, user: String) async throws -> Atelier_Commerce_V1_MovementResponse {
        try await movement("settle", user: user, key: request.idempotencyKey, request: request) { tx, now in
            let hold = try await Self.holdInfo(tx, id: request.holdID, user: user)
            switch hold.status {
            case "held":
                try await tx.query("UPDATE holds SET status = 'settled', finished_at = $1 WHERE id = $2", .time(now), .text(hold.id))
                try await LedgerEntries.append(tx, user: user, asset: hold.asset, amount: 0, kind: .settle, source: "spend",
                                               grantID: nil, holdID: hold.id, reference: hold.jobID.isEmpty ? nil : hold.jobID, now: now)
            case "settled":
                break
            default:
                throw ServiceError(.failedPrecondition, reason: "HOLD_NOT_OPEN", "hold \(hold.id) was \(hold.status) and cannot be settled")
            }
            return try await reply(tx, user: user, now: now, asset: hold.asset, holdID: hold.id)
        }
    }

    func release(_ request: Atelier_Commerce_V1_ReleaseRequest, user: String) async throws -> Atelier_Commerce_V1_MovementResponse {
        try await movement("release", user: user, key: request.idempotencyKey, request: request) { tx, now in
            let hold = try await Self.holdInfo(tx, id: request.holdID, user: user)
            switch hold.status {
            case "held":
                try await Self.returnHold(tx, user: user, holdID: hold.id, status: "released", now: now)
                // Credits returned to a grant that expired meanwhile expire now, not later.
                try await wallets.expireDue(tx, user: user, now: now)
            case "released", "expired":
                break
            default:
                throw ServiceError(.failedPrecondition, reason: "HOLD_NOT_OPEN", "hold \(hold.id) was settled and cannot be released")
            }
            return try await reply(tx, user: user, now: now, asset: hold.asset, holdID: hold.id)
        }
    }

    /// Runs `body` once per (user, idempotency key): the first call's reply is stored with a
    /// fingerprint of its request, and later calls with the same key get those same bytes, or a
    /// 409 when the request differs. The wallet lock makes concurrent calls with one key queue.
    private func movement<R: MovementRequest>(
        _ kind: String, user: String, key: String, request: R,
        _ body: @Sendable @escaping (any SQLExecutor, Date) async throws -> Atelier_Commerce_V1_MovementResponse
    ) async throws -> Atelier_Commerce_V1_MovementResponse {
        guard !key.isEmpty, key.count <= 200 else {
            throw ServiceError.invalid("idempotency_key", "idempotency_key is required (at most 200 characters)")
        }
        let fingerprint = try Self.fingerprint(kind, request)
        return try await database.transaction { tx in
            let now = Date.databaseNow
            try await wallets.open(tx, user: user, now: now)
            if let previous = try await tx.first(
                "SELECT kind, fingerprint, response FROM movements WHERE user_id = $1 AND idempotency_key = $2", .text(user), .text(key))
            {
                guard try previous.string("kind") == kind, try previous.string("fingerprint") == fingerprint else {
                    throw ServiceError(.alreadyExists, reason: "IDEMPOTENCY_KEY_REUSED",
                                       "idempotency_key was used before with a different request", field: "idempotency_key")
                }
                return try Atelier_Commerce_V1_MovementResponse(serializedBytes: try previous.blob("response"))
            }
            var reply = try await body(tx, now)
            reply.movementID = SecureRandom.id(prefix: "mv")
            try await tx.query(
                "INSERT INTO movements (user_id, idempotency_key, kind, fingerprint, response, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                .text(user), .text(key), .text(kind), .text(fingerprint), .blob(try reply.serializedBytes()), .time(now))
            return reply
        }
    }

    /// The reply to a movement: the hold or grant it made and the asset's balance after it.
    private func reply(_ tx: any SQLExecutor, user: String, now: Date, asset: String, holdID: String? = nil,
                       grantID: String? = nil) async throws -> Atelier_Commerce_V1_MovementResponse {
        var reply = Atelier_Commerce_V1_MovementResponse()
        if let holdID { reply.hold = try await Self.holdInfo(tx, id: holdID, user: user) }
        if let grantID { reply.grantID = grantID }
        reply.balance = try await wallets.balances(tx, user: user, now: now, asset: asset).first ?? .with { $0.asset = asset }
        return reply
    }

    private static func fingerprint<R: MovementRequest>(_ kind: String, _ request: R) throws -> String {
        var copy = request
        // The key itself is not part of what the request asks for.
        copy.idempotencyKey = ""
        let bytes: [UInt8] = try copy.serializedBytes()
        return kind + ":" + Data(SHA256.hash(data: bytes)).base64EncodedString()
    }

    // MARK: Steps inside a transaction

    /// Adds a grant and its ledger entry; returns the grant's id.
    static func addGrant(_ tx: any SQLExecutor, user: String, asset: String, amount: Int64, source: String,
                         reference: String?, expiresAt: Date?, now: Date) async throws -> String {
        let id = SecureRandom.id(prefix: "gr")
        try await tx.query(
            """
            INSERT INTO grants (id, user_id, asset, amount, remaining, source, reference, expires_at, created_at)
            VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8)
            """, .text(id), .text(user), .text(asset), .int(amount), .text(source), .optional(reference), .optional(expiresAt), .time(now))
        try await LedgerEntries.append(tx, user: user, asset: asset, amount: amount, kind: .grant, source: source,
                                       grantID: id, holdID: nil, reference: reference, now: now)
        return id
    }

    /// Gives a hold's credits back to the grants it drew from and marks it released or expired.
    static func returnHold(_ tx: any SQLExecutor, user: String, holdID: String, status: String, now: Date) async throws {
        let parts = try await tx.query(
            """
            SELECT p.grant_id, p.amount, g.asset, g.source, h.job_id FROM hold_parts p
            JOIN grants g ON g.id = p.grant_id JOIN holds h ON h.id = p.hold_id WHERE p.hold_id = $1
            """, .text(holdID))
        for part in parts {
            let grantID = try part.string("grant_id")
            let amount = try part.int("amount")
            let job = try part.string("job_id")
            try await tx.query("UPDATE grants SET remaining = remaining + $1 WHERE id = $2", .int(amount), .text(grantID))
            try await LedgerEntries.append(tx, user: user, asset: try part.string("asset"), amount: amount, kind: .release,
                                           source: try part.string("source"), grantID: grantID, holdID: holdID,
                                           reference: job.isEmpty ? nil : job, now: now)
        }
        try await tx.query("UPDATE holds SET status = $1, finished_at = $2 WHERE id = $3", .text(status), .time(now), .text(holdID))
    }

    static func holdInfo(_ tx: any SQLExecutor, id: String, user: String) async throws -> Atelier_Commerce_V1_HoldInfo {
        guard let row = try await tx.first(
            "SELECT id, asset, amount, operation, job_id, status, expires_at, created_at FROM holds WHERE id = $1 AND user_id = $2",
            .text(id), .text(user))
        else { throw ServiceError.notFound("hold") }
        return try .with {
            $0.id = try row.string("id")
            $0.asset = try row.string("asset")
            $0.amount = try row.int("amount")
            $0.operation = try row.string("operation")
            $0.jobID = try row.string("job_id")
            $0.status = try row.string("status")
            $0.expiresAt = .init(date: try row.date("expires_at"))
            $0.createdAt = .init(date: try row.date("created_at"))
        }
    }
}

/// A request that moves credits: it carries the idempotency key its movement is recorded under.
protocol MovementRequest: SwiftProtobuf.Message {
    var idempotencyKey: String { get set }
}

extension Atelier_Commerce_V1_GrantRequest: MovementRequest {}
extension Atelier_Commerce_V1_HoldRequest: MovementRequest {}
extension Atelier_Commerce_V1_SettleRequest: MovementRequest {}
extension Atelier_Commerce_V1_ReleaseRequest: MovementRequest {}
