import Logging
import ServiceLifecycle

/// The SQL dialects Atelier runs on. Statements are written once, with PostgreSQL's `$1`
/// placeholders and SQL that both databases accept; a migration may give each dialect its own text.
public enum SQLDialect: String, Sendable {
    case postgres
    case sqlite
}

/// Something SQL can be run on: the database itself or one transaction.
public protocol SQLExecutor: Sendable {
    var dialect: SQLDialect { get }
    /// Runs a statement and returns every row it produces.
    @discardableResult
    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow]
}

extension SQLExecutor {
    @discardableResult
    public func query(_ sql: String, _ binds: SQLValue...) async throws -> [SQLRow] {
        try await query(sql, binds)
    }

    public func first(_ sql: String, _ binds: SQLValue...) async throws -> SQLRow? {
        try await query(sql, binds).first
    }

    /// The integer column `n` of the first row (`SELECT COUNT(*) AS n ...`), 0 when there is none.
    public func count(_ sql: String, _ binds: [SQLValue]) async throws -> Int64 {
        try await query(sql, binds).first?.int("n") ?? 0
    }
}

/// A service's database: one per service, SQLite file or PostgreSQL schema. It runs as a
/// lifecycle service so that it starts before the server that uses it and closes after it.
public protocol Database: SQLExecutor, Service {
    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T
    func close() async throws
}

public enum DatabaseError: Error, CustomStringConvertible, Equatable {
    case missingColumn(String)
    case unexpectedNull(String)
    case typeMismatch(column: String, expected: String)
    /// A UNIQUE or PRIMARY KEY constraint refused the write.
    case uniqueViolation(String)
    case invalidURL(String)
    case migrationFailed(version: Int, message: String)

    public var description: String {
        switch self {
        case .missingColumn(let column): "result has no column '\(column)'"
        case .unexpectedNull(let column): "column '\(column)' is NULL"
        case .typeMismatch(let column, let expected): "column '\(column)' is not \(expected)"
        case .uniqueViolation(let detail): "unique constraint violated: \(detail)"
        case .invalidURL(let url): "not a PostgreSQL URL: \(url)"
        case .migrationFailed(let version, let message): "migration \(version) failed: \(message)"
        }
    }
}
