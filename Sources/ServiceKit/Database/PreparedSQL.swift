import Logging
import PostgresNIO

/// A statement PostgreSQL parses and plans once per connection and then only binds and runs.
/// Parsing and planning were a fifth of the CPU of a Hold + Settle pair (perf, scripts/bench (d)):
/// the unnamed statements postgres-nio sends for `query` are planned on every call.
///
/// postgres-nio prepares statements it knows by a type (`PostgresPreparedStatement`'s static
/// `name` and `sql`), and our statements are values; the type reads them from a task-local set
/// around the one call that reads them, so one type serves every statement. The name is a hash
/// of the text and the bind types, so a statement bound with a NULL where it once had a value is
/// prepared apart, with the types PostgreSQL would have seen unprepared.
struct PreparedSQL: PostgresPreparedStatement {
    typealias Row = PostgresRow

    struct Current: Sendable {
        let name: String
        let sql: String
        let types: [PostgresDataType]
    }

    @TaskLocal static var current = Current(name: "", sql: "", types: [])

    static var name: String { current.name }
    static var sql: String { current.sql }
    static var bindingDataTypes: [PostgresDataType] { current.types }

    let bindings: PostgresBindings

    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }

    /// Which statements are prepared: data statements (DDL cannot be), with few enough binds that
    /// the lists of `IN (...)` and multi-row VALUES, one text per length, stay unprepared instead of
    /// filling every connection with one-off statements.
    static func isPrepared(_ text: String, bindCount: Int) -> Bool {
        guard bindCount <= 24 else { return false }
        let head = text.prefix(8).uppercased()
        return ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"].contains { head.hasPrefix($0) }
    }

    /// Runs `statement` on `connection` as a prepared statement.
    static func run(_ current: Current, bindings: PostgresBindings, on connection: PostgresConnection, logger: Logger) async throws -> [SQLRow] {
        try await $current.withValue(current) {
            try await PostgresDatabase.collect(connection.execute(PreparedSQL(bindings: bindings), logger: logger))
        }
    }

    static func statementName(_ text: String, types: [PostgresDataType]) -> String {
        // FNV-1a, 64 bits: stable across processes, so names mean the same on every connection.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        for type in types { hash = (hash ^ UInt64(type.rawValue)) &* 0x100_0000_01b3 }
        return "atelier_" + String(hash, radix: 36)
    }

    /// A connection whose prepared statement no longer fits the table (a column added by a
    /// migration elsewhere: 0A000 "cached plan must not change result type") or lost it (26000)
    /// keeps failing for that name; it is closed, and the pool opens a fresh one.
    static func isStale(_ error: PSQLError) -> Bool {
        ["0A000", "26000"].contains(error.serverInfo?[.sqlState] ?? "")
    }
}
