import AtelierProtos
import ServiceKit

/// The plan's limit on characters kept (Free 1, Starter 5, Pro unlimited), read from the
/// entitlements the edge put in the principal; Free when there are none.
struct CharacterCap {
    static let freeLimit: Int64 = 1
    /// nil: unlimited.
    let limit: Int64?
    let plan: String

    init(_ entitlements: Entitlements?) {
        if let entitlements {
            limit = entitlements.unlimitedCharacters ? nil : Int64(max(entitlements.maxCharacters, 0))
            plan = entitlements.plan
        } else {
            limit = Self.freeLimit
            plan = "free"
        }
    }

    /// Counts one more character against the cap, or refuses. One conditional UPDATE checks and
    /// takes the slot, so two creates racing for the last slot cannot both win.
    func take(_ tx: any SQLExecutor, user: String) async throws {
        try await tx.query("INSERT INTO owners (user_id, characters) VALUES (\(user), 0) ON CONFLICT (user_id) DO NOTHING")
        let belowCap: SQL = limit.map { " AND characters < \($0)" } ?? ""
        let taken = try await tx.query("UPDATE owners SET characters = characters + 1 WHERE user_id = \(user)\(belowCap) RETURNING characters")
        guard !taken.isEmpty else {
            let limit = limit ?? 0
            throw ServiceError(.permissionDenied, reason: "CHARACTER_LIMIT_REACHED",
                               "the \(plan) plan keeps at most \(limit) character\(limit == 1 ? "" : "s"); delete one or upgrade your plan")
        }
    }

    /// Frees the slot of a deleted character.
    static func release(_ tx: any SQLExecutor, user: String) async throws {
        try await tx.query("UPDATE owners SET characters = characters - 1 WHERE user_id = \(user) AND characters > 0")
    }
}

/// Public characters per style, and in all (style ''), kept in step with every change to a
/// character's visibility or style so explore's total is a single-row read.
enum PublicCounts {
    /// A character moved from public in style `from` to public in style `to` (nil: not public).
    static func change(_ tx: any SQLExecutor, from: String?, to: String?) async throws {
        var deltas: [String: Int64] = [:]
        if let from { deltas[from, default: 0] -= 1 }
        if let to { deltas[to, default: 0] += 1 }
        try await adjust(tx, by: deltas)
    }

    /// Adds `deltas` (per style) to the counts, and their sum to the total (style '').
    static func adjust(_ tx: any SQLExecutor, by deltas: [String: Int64]) async throws {
        var all = deltas
        all[""] = deltas.values.reduce(0, +)
        // Always in the same key order, so two transactions never wait on each other in a cycle.
        for (style, delta) in all.sorted(by: { $0.key < $1.key }) where delta != 0 {
            try await tx.query("""
                INSERT INTO public_counts (style_type, count) VALUES (\(style), \(delta))
                ON CONFLICT (style_type) DO UPDATE SET count = public_counts.count + excluded.count
                """)
        }
    }
}
