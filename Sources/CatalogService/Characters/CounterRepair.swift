import Logging
import ServiceKit

/// Recounts the catalog's kept counters from the rows they count, and mends any that drifted:
/// explore's public characters per style (`public_counts`) and each owner's characters against
/// the plan's cap (`owners`). Every write in the service keeps them in step, so a drift means a
/// row was changed by hand or restored from a backup; without a recount explore's total would
/// stay wrong, or a user would be refused a character they have room for.
///
/// CatalogServer runs a pass at start-up and every `catalog.recount-minutes` (60).
struct CounterRepair: Sendable {
    let database: any Database
    let logger: Logger

    /// One pass, logged; for `PeriodicWork`.
    func run() async {
        do {
            let mended = try await repair()
            if mended > 0 { logger.warning("recount mended drifted catalog counters", metadata: ["counters": "\(mended)"]) }
        } catch {
            logger.warning("catalog recount failed", metadata: ["error": "\(error)"])
        }
    }

    /// One pass; returns how many counters were wrong and are now right.
    @discardableResult
    func repair() async throws -> Int {
        try await database.transaction { tx in
            // Creates, deletes and visibility changes take row locks on these tables inside
            // their own transactions, so holding them exclusively makes the count and the
            // write one step: no change lands between them. Plain reads (explore) go on.
            // SQLite runs one write transaction at a time, which gives the same. At a million
            // characters the two counts take about 0.2 s on PostgreSQL here, so creates wait
            // that long once an hour.
            if tx.dialect == .postgres {
                try await tx.query("LOCK TABLE public_counts, owners IN EXCLUSIVE MODE")
            }
            return try await Self.publicCounts(tx) + Self.owners(tx)
        }
    }

    private static func publicCounts(_ tx: any SQLExecutor) async throws -> Int {
        var actual: [String: Int64] = [:]
        for row in try await tx.query("SELECT style_type, COUNT(*) AS n FROM characters WHERE is_public = TRUE GROUP BY style_type") {
            actual[try row.string("style_type")] = try row.int("n")
        }
        actual[""] = actual.values.reduce(0, +)
        var kept: [String: Int64] = [:]
        for row in try await tx.query("SELECT style_type, count FROM public_counts") {
            kept[try row.string("style_type")] = try row.int("count")
        }
        var mended = 0
        for style in Set(actual.keys).union(kept.keys).sorted() where actual[style, default: 0] != kept[style, default: 0] {
            try await tx.query("""
                INSERT INTO public_counts (style_type, count) VALUES ($1, $2)
                ON CONFLICT (style_type) DO UPDATE SET count = excluded.count
                """, .text(style), .int(actual[style, default: 0]))
            mended += 1
        }
        return mended
    }

    private static func owners(_ tx: any SQLExecutor) async throws -> Int {
        var actual: [String: Int64] = [:]
        for row in try await tx.query("SELECT user_id, COUNT(*) AS n FROM characters GROUP BY user_id") {
            actual[try row.string("user_id")] = try row.int("n")
        }
        var kept: [String: Int64] = [:]
        for row in try await tx.query("SELECT user_id, characters FROM owners") {
            kept[try row.string("user_id")] = try row.int("characters")
        }
        var mended = 0
        for user in Set(actual.keys).union(kept.keys).sorted() where actual[user, default: 0] != kept[user, default: 0] {
            try await tx.query("""
                INSERT INTO owners (user_id, characters) VALUES ($1, $2)
                ON CONFLICT (user_id) DO UPDATE SET characters = excluded.characters
                """, .text(user), .int(actual[user, default: 0]))
            mended += 1
        }
        return mended
    }
}
