import AtelierProtos
import ServiceKit

/// A page of a list: limit (default 50, at most 100) and offset.
struct Page {
    let limit: Int
    let offset: Int

    /// Deep offsets cost a scan of everything before them; past this, clients should filter.
    static let maxOffset = 100_000

    init(limit: Int32, offset: Int32) throws {
        guard limit >= 0, limit <= 100 else { throw ServiceError.invalid("limit", "limit must be 1 to 100") }
        guard offset >= 0, offset <= Self.maxOffset else {
            throw ServiceError.invalid("offset", "offset must be 0 to \(Self.maxOffset)")
        }
        self.limit = limit == 0 ? 50 : Int(limit)
        self.offset = Int(offset)
    }

    func pagination(total: Int64) -> Atelier_Catalog_V1_Pagination {
        .with {
            $0.total = total
            $0.limit = Int32(limit)
            $0.offset = Int32(offset)
        }
    }
}

/// A list's order: one of the fields the route offers, then the id so pages never overlap.
struct SortOrder {
    let column: String
    let descending: Bool

    /// - Parameter fields: REST name (`createdAt`) to column (`created_at`); the first is the default.
    init(sortBy: String, order: String, fields: KeyValuePairs<String, String>) throws {
        if sortBy.isEmpty {
            column = fields.first!.value  // '!' is fine: every caller names at least one field.
        } else if let match = fields.first(where: { $0.key.caseInsensitiveCompare(sortBy) == .orderedSame }) {
            column = match.value
        } else {
            throw ServiceError.invalid("sortBy", "sortBy must be one of \(fields.map(\.key).joined(separator: ", "))")
        }
        switch order.lowercased() {
        case "", "desc": descending = true
        case "asc": descending = false
        default: throw ServiceError.invalid("sortOrder", "sortOrder must be asc or desc")
        }
    }

    /// `ORDER BY <column> <dir>, id <dir>` with the table alias given.
    func sql(_ alias: String = "") -> String {
        let direction = descending ? "DESC" : "ASC"
        return "ORDER BY \(alias)\(column) \(direction), \(alias)id \(direction)"
    }
}

/// Builds a WHERE clause and its binds in step, so placeholders stay numbered right.
struct Filter {
    private(set) var conditions: [String] = []
    private(set) var binds: [SQLValue] = []

    /// Adds a condition; each `?` marks where the next value goes.
    mutating func add(_ condition: String, _ values: SQLValue...) {
        var text = ""
        var remaining = values[...]
        for character in condition {
            if character == "?", let value = remaining.first {
                remaining = remaining.dropFirst()
                binds.append(value)
                text += "$\(binds.count)"
            } else {
                text.append(character)
            }
        }
        conditions.append(text)
    }

    mutating func add(_ condition: String) {
        conditions.append(condition)
    }

    /// The next placeholder number, for LIMIT and OFFSET after the conditions.
    var next: Int { binds.count + 1 }

    var sql: String { conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ") }

    /// LIKE pattern for a word anywhere in a text; `\` escapes the wildcards.
    static func contains(_ word: String) -> String {
        var escaped = ""
        for character in word {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return "%" + escaped + "%"
    }
}

extension SQLExecutor {
    /// One page of the rows `filter` matches, in `order`, and how many match in all.
    /// - Parameters:
    ///   - from: the table (with joins) to read; `countFrom` the one to count, when joins add nothing to the count.
    func page<T>(_ columns: String, from: String, countFrom: String? = nil, filter: Filter, order: String, page: Page,
                 _ row: (SQLRow) throws -> T) async throws -> (items: [T], total: Int64) {
        let rows = try await query(
            "SELECT \(columns) FROM \(from) \(filter.sql) \(order) LIMIT $\(filter.next) OFFSET $\(filter.next + 1)",
            filter.binds + [.int(Int64(page.limit)), .int(Int64(page.offset))])
        // A page that is neither full nor past the end is the last one: it says the total itself,
        // and most lists (a user's heroes, a story's illustrations) fit in one page.
        let total = rows.count < page.limit && (!rows.isEmpty || page.offset == 0)
            ? Int64(page.offset + rows.count)
            : try await count("SELECT COUNT(*) AS n FROM \(countFrom ?? from) \(filter.sql)", filter.binds)
        return (try rows.map(row), total)
    }
}
