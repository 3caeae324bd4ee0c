import AtelierProtos

/// A page of a list, as every list in every service takes it: `limit` (default 50, at most 100)
/// and `offset` (at most 100,000), answered with `Pagination` (total, limit, offset).
public struct Page: Sendable, Equatable {
    public let limit: Int
    public let offset: Int

    /// Deep offsets cost a scan of everything before them; past this, clients should filter.
    public static let maxOffset = 100_000
    public static let maxLimit = 100
    public static let defaultLimit = 50

    public init(limit: Int32, offset: Int32) throws {
        guard limit >= 0, limit <= Int32(Self.maxLimit) else {
            throw ServiceError.invalid("limit", "limit must be 1 to \(Self.maxLimit)")
        }
        guard offset >= 0, offset <= Int32(Self.maxOffset) else {
            throw ServiceError.invalid("offset", "offset must be 0 to \(Self.maxOffset)")
        }
        self.limit = limit == 0 ? Self.defaultLimit : Int(limit)
        self.offset = Int(offset)
    }

    public func pagination(total: Int64) -> Atelier_Api_V1_Pagination {
        .with {
            $0.total = total
            $0.limit = Int32(limit)
            $0.offset = Int32(offset)
        }
    }

    /// `LIMIT $n OFFSET $m`.
    public var sql: SQL { "LIMIT \(limit) OFFSET \(offset)" }

    /// One row more than the page: whether it comes back says whether the page is the last.
    var sqlWithOneMore: SQL { "LIMIT \(limit + 1) OFFSET \(offset)" }
}

/// One page of rows and how many match in all.
public struct PageResult<Item: Sendable>: Sendable {
    public var items: [Item]
    public var total: Int64
    public let page: Page

    public init(items: [Item], total: Int64, page: Page) {
        self.items = items
        self.total = total
        self.page = page
    }

    public var pagination: Atelier_Api_V1_Pagination { page.pagination(total: total) }

    public func map<T>(_ transform: (Item) throws -> T) rethrows -> PageResult<T> {
        PageResult<T>(items: try items.map(transform), total: total, page: page)
    }
}

/// A list's order: one of the fields the route offers, then the id so pages never overlap.
public struct ListOrder: Sendable {
    public let column: SQLIdentifier
    public let descending: Bool

    /// - Parameter fields: REST name (`createdAt`) to column (`created_at`); the first is the default.
    public init(sortBy: String, order: String, fields: KeyValuePairs<String, SQLIdentifier>) throws {
        if sortBy.isEmpty, let first = fields.first {
            column = first.value
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

    /// A fixed order: `column`, then the id, both the same way.
    public init(_ column: SQLIdentifier, descending: Bool) {
        self.column = column
        self.descending = descending
    }

    /// `ORDER BY <column> <dir>, id <dir>`, the columns of table `alias` when one is given.
    public func sql(_ alias: SQLIdentifier? = nil, tiebreak: SQLIdentifier = "id") -> SQL {
        let direction: SQL = descending ? "DESC" : "ASC"
        let prefix: SQL = alias.map { "\($0)." } ?? ""
        return "ORDER BY \(prefix)\(column) \(direction), \(prefix)\(tiebreak) \(direction)"
    }
}

extension SQLExecutor {
    /// One page of `select` (`SELECT ... FROM ...`) filtered by `conditions`, in `order`, and how
    /// many rows match in all (`countFrom`, the tables to count when joins add nothing to it).
    public func page<T>(_ select: SQL, countFrom: SQL, where conditions: [SQL], order: SQL, page: Page,
                        _ row: (SQLRow) throws -> T) async throws -> PageResult<T> {
        let filter = SQL.where(conditions)
        var rows = try await query("\(select) \(filter) \(order) \(page.sqlWithOneMore)")
        // A page with nothing after it (the one row more did not come) that is not past the end
        // is the last one: it says the total itself, so most lists (a user's heroes, a story's
        // illustrations), full page or not, need no COUNT.
        let last = rows.count <= page.limit
        if !last { rows.removeLast() }
        let total = last && (!rows.isEmpty || page.offset == 0)
            ? Int64(page.offset + rows.count)
            : try await count("SELECT COUNT(*) AS n FROM \(countFrom) \(filter)")
        return PageResult(items: try rows.map(row), total: total, page: page)
    }
}

/// Where a newest-first page ended: its last row's creation time and id, as `time:id`. The next
/// page starts after it however deep it is, where an offset stops at `Page.maxOffset`.
public struct PageToken: Sendable, Equatable {
    public let createdAt: Int64
    public let id: String

    public init(createdAt: Int64, id: String) {
        self.createdAt = createdAt
        self.id = id
    }

    /// A token a list gave, or nil for none; anything else is a 400 naming `pageToken`.
    public init?(_ token: String) throws {
        guard !token.isEmpty else { return nil }
        let parts = token.split(separator: ":", maxSplits: 1)
        guard token.utf8.count <= 300, parts.count == 2, let time = Int64(parts[0]) else {
            throw ServiceError.invalid("pageToken", "pageToken is not one this service gave")
        }
        self.init(createdAt: time, id: String(parts[1]))
    }

    public var token: String { "\(createdAt):\(id)" }

    /// Rows older than the token's, newest first by (created_at, id).
    public var older: SQL { "(created_at < \(createdAt) OR (created_at = \(createdAt) AND id < \(id)))" }
}

extension SQLExecutor {
    /// A newest-first page (by created_at, then id), from `offset` or after `token`, and the
    /// token of the page after it (empty on the last page).
    public func newestFirst<T>(_ select: SQL, countFrom: SQL, where conditions: [SQL], page: Page, after token: PageToken?,
                               _ row: (SQLRow) throws -> T) async throws -> (items: PageResult<T>, next: String) {
        if token != nil, page.offset != 0 { throw ServiceError.invalid("offset", "offset must be 0 with a pageToken") }
        var rows: [SQLRow] = []
        let found = try await self.page(select, countFrom: countFrom, where: conditions + (token.map { [$0.older] } ?? []),
                                        order: ListOrder("created_at", descending: true).sql(), page: page) { raw in
            rows.append(raw)
            return try row(raw)
        }
        guard rows.count == page.limit, let last = rows.last else { return (found, "") }
        return (found, PageToken(createdAt: try last.int("created_at"), id: try last.string("id")).token)
    }
}
