/// A table whose rows each belong to one user (its `user_id`), and what every owned entity does
/// with them: find one by id and owner (another user's row is NotFound, as if it did not exist),
/// list a page with its total, delete one, and create one at most once per idempotency key.
/// Each entity's store describes its table once; the SQL below is written only here.
public struct OwnedTable<Row: Sendable>: Sendable {
    public let table: SQLIdentifier
    /// The table's name inside `from`, when rows are read through a join.
    public let alias: SQLIdentifier?
    /// The columns a row is read from, and the table (or the table and what it is joined with).
    public let selection, from: SQL
    /// What a missing row is called in its NotFound ("hero").
    public let noun: String
    public let read: @Sendable (SQLRow) throws -> Row

    /// A table read by itself, its rows from `columns`.
    public init(_ table: SQLIdentifier, columns: [SQLIdentifier], noun: String, read: @escaping @Sendable (SQLRow) throws -> Row) {
        self.init(table, alias: nil, selection: "\(columns)", from: "\(table)", noun: noun, read: read)
    }

    /// Rows read through a join: `selection` names its columns with `alias.` where needed.
    public init(_ table: SQLIdentifier, alias: SQLIdentifier?, selection: SQL, from: SQL, noun: String,
                read: @escaping @Sendable (SQLRow) throws -> Row) {
        (self.table, self.alias, self.noun) = (table, alias, noun)
        (self.selection, self.from) = (selection, from)
        self.read = read
    }

    /// `column` of this table, qualified by its alias when it has one.
    public func column(_ name: SQLIdentifier) -> SQL {
        if let alias { "\(alias).\(name)" } else { "\(name)" }
    }

    public var select: SQL { "SELECT \(selection) FROM \(from)" }

    public var notFound: ServiceError { .notFound(noun) }

    /// The owner's row, or nil. `lock` holds it for the rest of the transaction.
    public func find(_ db: any SQLExecutor, id: String, owner: String, lock: Bool = false) async throws -> Row? {
        let locking: SQL = lock ? (alias.map { .forUpdate(of: $0) } ?? .forUpdate) : ""
        return try await db.first("\(select) WHERE \(column("id")) = \(id) AND \(column("user_id")) = \(owner)\(locking)").map(read)
    }

    /// The owner's row, or NotFound.
    public func get(_ db: any SQLExecutor, id: String, owner: String, lock: Bool = false) async throws -> Row {
        guard let row = try await find(db, id: id, owner: owner, lock: lock) else { throw notFound }
        return row
    }

    /// The rows of several owners in one statement, each found by its id and owner: in the order
    /// of `keys`, nil where that owner has no such row (another owner's row is not found, as in
    /// `find`).
    public func find(_ db: any SQLExecutor, each keys: [(id: String, owner: String)]) async throws -> [Row?] {
        guard !keys.isEmpty else { return [] }
        let wanted = SQL.rows(keys.map { [.text($0.id), .text($0.owner)] })
        let rows = try await db.query("""
            SELECT \(selection), \(column("id")) AS found_id, \(column("user_id")) AS found_owner FROM \(from)
            WHERE (\(column("id")), \(column("user_id"))) IN (\(wanted))
            """)
        var found: [String: Row] = [:]
        for row in rows { found["\(try row.string("found_id"))\u{0}\(try row.string("found_owner"))"] = try read(row) }
        return keys.map { found["\($0.id)\u{0}\($0.owner)"] }
    }

    /// Whether the owner has the row, without reading it.
    public func require(_ db: any SQLExecutor, id: String, owner: String, lock: Bool = false) async throws {
        let locking: SQL = lock ? .forUpdate : ""
        guard try await db.first("SELECT id FROM \(table) WHERE id = \(id) AND user_id = \(owner)\(locking)") != nil else {
            throw notFound
        }
    }

    /// A page of the owner's rows that also meet `conditions`, in `order`.
    public func page(_ db: any SQLExecutor, owner: String, where conditions: [SQL] = [], order: ListOrder,
                     page: Page) async throws -> PageResult<Row> {
        try await db.page(select, countFrom: alias.map { "\(table) \($0)" } ?? "\(table)",
                          where: ["\(column("user_id")) = \(owner)"] + conditions, order: order.sql(alias), page: page, read)
    }

    /// Deletes the owner's row and returns `returning` of it, or NotFound.
    @discardableResult
    public func delete(_ db: any SQLExecutor, id: String, owner: String, returning: [SQLIdentifier] = ["id"]) async throws -> SQLRow {
        guard let row = try await db.first("DELETE FROM \(table) WHERE id = \(id) AND user_id = \(owner) RETURNING \(returning)") else {
            throw notFound
        }
        return row
    }

    /// Inserts one row.
    public func insert(_ db: any SQLExecutor, _ values: [(SQLIdentifier, SQLValue)]) async throws {
        try await db.query("INSERT INTO \(table) (\(values.map(\.0))) VALUES (\(list: values.map(\.1)))")
    }

    /// A services-only create, once per (owner, `key`): the first call runs `create`, a retry gets
    /// the row the first call made. Two calls racing with one key meet at the table's unique
    /// index on (user_id, idempotency_key); the loser reads the winner's row. Without a key,
    /// `create` simply runs.
    public func createOnce(_ db: any SQLExecutor, owner: String, key: String?,
                           _ create: () async throws -> Row) async throws -> Row {
        guard let key else { return try await create() }
        if let found = try await created(db, owner: owner, key: key) { return found }
        do {
            return try await create()
        } catch DatabaseError.uniqueViolation {
            if let found = try await created(db, owner: owner, key: key) { return found }
            throw ServiceError(.aborted, reason: "CONFLICT", "a call with the same idempotency key is in progress; retry")
        }
    }

    /// The owner's row made under idempotency `key`, if there is one.
    public func created(_ db: any SQLExecutor, owner: String, key: String) async throws -> Row? {
        try await db.first("\(select) WHERE \(column("user_id")) = \(owner) AND \(column("idempotency_key")) = \(key)").map(read)
    }
}
