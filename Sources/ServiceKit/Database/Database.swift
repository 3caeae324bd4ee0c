import Foundation
import Logging
import ServiceLifecycle

/// The SQL dialects Atelier runs on. Statements are written once (`SQL`), in SQL both databases
/// accept; a statement renders its placeholders for the dialect, and a migration may give each
/// dialect its own text.
public enum SQLDialect: String, Sendable {
    case postgres
    case sqlite
}

/// Something SQL can be run on: the database itself or one transaction.
public protocol SQLExecutor: Sendable {
    var dialect: SQLDialect { get }
    /// Runs a statement and returns every row it produces.
    @discardableResult
    func query(_ statement: SQL) async throws -> [SQLRow]
}

extension SQLExecutor {
    public func first(_ statement: SQL) async throws -> SQLRow? {
        try await query(statement).first
    }

    /// The integer column `n` of the first row (`SELECT COUNT(*) AS n ...`), 0 when there is none.
    public func count(_ statement: SQL) async throws -> Int64 {
        try await query(statement).first?.int("n") ?? 0
    }

    /// Runs a change whose PostgreSQL form is one statement (writing CTEs): there as it is, inside
    /// the caller's transaction if any, with no BEGIN and COMMIT round trips of its own; on SQLite,
    /// which has no writing CTEs and runs the change as several statements, in a transaction of its
    /// own unless it is in one already.
    public func atomically<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        if dialect == .sqlite, let database = self as? any Database { return try await database.transaction(body) }
        return try await body(self)
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
    /// A FOREIGN KEY constraint refused the write: the row it names is gone (or never was).
    case foreignKeyViolation(String)
    /// A CHECK constraint refused the write.
    case checkViolation(String)
    case invalidURL(String)
    case invalidIdentifier(String)
    case cannotCreate(String)
    case migrationFailed(version: Int, message: String)

    public var description: String {
        switch self {
        case .missingColumn(let column): "result has no column '\(column)'"
        case .unexpectedNull(let column): "column '\(column)' is NULL"
        case .typeMismatch(let column, let expected): "column '\(column)' is not \(expected)"
        case .uniqueViolation(let detail): "unique constraint violated: \(detail)"
        case .foreignKeyViolation(let detail): "foreign key constraint violated: \(detail)"
        case .checkViolation(let detail): "check constraint violated: \(detail)"
        case .invalidURL(let url): "not a PostgreSQL URL: \(DatabaseURL.redacted(url))"
        case .cannotCreate(let path): "cannot create the database file \(path)"
        case .invalidIdentifier(let name): "'\(name)' is not a plain SQL name (letters, digits and underscores)"
        case .migrationFailed(let version, let message): "migration \(version) failed: \(message)"
        }
    }
}

/// Database URLs in messages: the password is replaced, so an error or a log line never shows it.
public enum DatabaseURL {
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "redacted"
        return components.string ?? "(a database URL)"
    }
}
