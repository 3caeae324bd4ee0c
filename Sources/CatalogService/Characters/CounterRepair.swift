import Logging
import ServiceKit

/// Recounts the catalog's kept counters from the rows they count, and mends any that drifted:
/// explore's public characters per style (`public_counts`), each owner's characters against
/// the plan's cap (`owners`), and the counts objects carry (`RowCounter.all`: a character's images
/// and videos, a theme's variants, a hero's stories, a story's illustrations, a collection's
/// characters). Every write in the service keeps them in step, so a drift means a row was changed
/// by hand or restored from a backup; without a recount explore's total would stay wrong, a user
/// would be refused a character they have room for, or a gallery would show the wrong count.
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
        var mended = try await repairTotals()
        for counter in RowCounter.all { mended += try await counter.mend(database) }
        return mended
    }

    private func repairTotals() async throws -> Int {
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
        var actual = try await counts(tx, "SELECT style_type AS k, COUNT(*) AS n FROM characters WHERE is_public = TRUE GROUP BY style_type")
        actual[""] = actual.values.reduce(0, +)
        return try await mend(tx, table: "public_counts", key: "style_type", counter: "count", to: actual)
    }

    private static func owners(_ tx: any SQLExecutor) async throws -> Int {
        let actual = try await counts(tx, "SELECT user_id AS k, COUNT(*) AS n FROM characters GROUP BY user_id")
        return try await mend(tx, table: "owners", key: "user_id", counter: "characters", to: actual)
    }

    /// A grouped count (`k`, `n`) as a map.
    private static func counts(_ tx: any SQLExecutor, _ statement: SQL) async throws -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for row in try await tx.query(statement) { counts[try row.string("k")] = try row.int("n") }
        return counts
    }

    /// Sets `table`'s `counter` to `actual` wherever the two differ (a key missing on either
    /// side counts as 0); returns how many it set.
    private static func mend(_ tx: any SQLExecutor, table: SQLIdentifier, key: SQLIdentifier, counter: SQLIdentifier,
                             to actual: [String: Int64]) async throws -> Int {
        let kept = try await counts(tx, "SELECT \(key) AS k, \(counter) AS n FROM \(table)")
        var mended = 0
        for name in Set(actual.keys).union(kept.keys).sorted() where actual[name, default: 0] != kept[name, default: 0] {
            try await tx.query("""
                INSERT INTO \(table) (\(key), \(counter)) VALUES (\(name), \(actual[name, default: 0]))
                ON CONFLICT (\(key)) DO UPDATE SET \(counter) = excluded.\(counter)
                """)
            mended += 1
        }
        return mended
    }
}

/// A count an object keeps of its children, such as a theme's `variant_count` of its variants.
struct RowCounter: Sendable {
    let table, counter, children: SQLIdentifier
    /// The children's column naming the object.
    let parent: SQLIdentifier
    /// Which children count (`type = 'image'`); TRUE for all.
    let filter: SQL

    static let all = [
        RowCounter(table: "characters", counter: "image_count", children: "media", parent: "character_id", filter: "type = 'image'"),
        RowCounter(table: "characters", counter: "video_count", children: "media", parent: "character_id", filter: "type = 'video'"),
        RowCounter(table: "themes", counter: "variant_count", children: "variants", parent: "theme_id", filter: "TRUE"),
        RowCounter(table: "heroes", counter: "story_count", children: "stories", parent: "hero_id", filter: "TRUE"),
        RowCounter(table: "stories", counter: "illustration_count", children: "illustrations", parent: "story_id", filter: "TRUE"),
        RowCounter(table: "collections", counter: "character_count", children: "collection_characters", parent: "collection_id", filter: "TRUE"),
    ]

    /// Finds the objects whose count differs, without locks (one scan, however many objects),
    /// then mends each in a transaction of its own that locks the object's row before counting:
    /// a write that changes the count holds that row too, so it either finished first and is
    /// counted, or waits and adds its own step to the mended count. Returns how many it mended.
    func mend(_ database: any Database) async throws -> Int {
        let drifted = try await database.query("""
            SELECT t.id FROM \(table) t
            LEFT JOIN (SELECT \(parent) AS parent, COUNT(*) AS n FROM \(children) WHERE \(filter) GROUP BY \(parent)) k ON k.parent = t.id
            WHERE t.\(counter) <> COALESCE(k.n, 0)
            """)
        var mended = 0
        for row in drifted {
            let id = try row.string("id")
            mended += try await database.transaction { tx in
                guard let kept = try await tx.first("SELECT \(counter) AS n FROM \(table) WHERE id = \(id)\(SQL.forUpdate)") else { return 0 }
                let actual = try await tx.count("SELECT COUNT(*) AS n FROM \(children) WHERE \(parent) = \(id) AND \(filter)")
                guard try kept.int("n") != actual else { return 0 }
                try await tx.query("UPDATE \(table) SET \(counter) = \(actual) WHERE id = \(id)")
                return 1
            }
        }
        return mended
    }
}
