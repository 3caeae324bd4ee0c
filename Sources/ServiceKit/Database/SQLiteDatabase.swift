import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import ServiceLifecycle

/// A service's embedded database: one SQLite file, one connection. SQLite runs one writer at a
/// time, so statements and transactions take turns through an async lock rather than meeting
/// SQLITE_BUSY; the connection does its work on NIO's thread pool, never on an event loop.
public final class SQLiteDatabase: Database {
    public let dialect = SQLDialect.sqlite
    private let connection: SQLiteConnection
    private let lock = AsyncLock()

    private init(connection: SQLiteConnection) {
        self.connection = connection
    }

    /// Opens (creating when missing) the database at `path`; `nil` opens a private in-memory database.
    public static func open(path: String?, logger: Logger) async throws -> SQLiteDatabase {
        let storage: SQLiteConnection.Storage = path.map { .file(path: $0) } ?? .memory
        if let path {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let connection = try await SQLiteConnection.open(storage: storage, logger: logger)
        // WAL lets readers of the file (backups, sqlite3) run beside the writer; NORMAL sync is
        // durable across application crashes, which is what WAL mode is designed for.
        _ = try await connection.query("PRAGMA journal_mode=WAL", [])
        _ = try await connection.query("PRAGMA synchronous=NORMAL", [])
        _ = try await connection.query("PRAGMA foreign_keys=ON", [])
        _ = try await connection.query("PRAGMA busy_timeout=5000", [])
        return SQLiteDatabase(connection: connection)
    }

    public func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await lock.withLock { try await Self.run(sql, binds, on: self.connection) }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        await lock.lock()
        do {
            let result = try await inTransaction(body)
            await lock.unlock()
            return result
        } catch {
            await lock.unlock()
            throw error
        }
    }

    private func inTransaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        // IMMEDIATE takes the write lock at once, so a transaction that reads then writes
        // cannot fail halfway on a lock upgrade.
        _ = try await connection.query("BEGIN IMMEDIATE", [])
        do {
            let result = try await body(SQLiteTransaction(connection: connection))
            _ = try await connection.query("COMMIT", [])
            return result
        } catch {
            _ = try? await connection.query("ROLLBACK", [])
            throw error
        }
    }

    /// Holds the connection open until shutdown, then closes it.
    public func run() async throws {
        try? await gracefulShutdown()
        // Closing must happen even when shutdown came as cancellation, which NIO's thread pool
        // would refuse; an unstructured task does not inherit it.
        try await Task { try await self.close() }.value
    }

    public func close() async throws {
        try await connection.close()
    }

    static func run(_ sql: String, _ binds: [SQLValue], on connection: SQLiteConnection) async throws -> [SQLRow] {
        let rows: [SQLiteRow]
        do {
            rows = try await connection.query(SQLPlaceholders.sqlite(sql), binds.map(\.sqliteData))
        } catch let error as SQLiteError {
            if [.constraint, .constraintUniqueFailed, .constraintPrimaryKeyFailed].contains(error.reason),
               error.message.contains("UNIQUE") {
                throw DatabaseError.uniqueViolation(error.message)
            }
            throw error
        }
        guard let first = rows.first else { return [] }
        let columns = SQLColumns(first.columns.map(\.name))
        return rows.map { row in SQLRow(columns: columns, cells: row.columns.map { SQLValue($0.data) }) }
    }
}

/// Statements inside a transaction already hold the lock, so they go straight to the connection.
struct SQLiteTransaction: SQLExecutor {
    let dialect = SQLDialect.sqlite
    let connection: SQLiteConnection

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await SQLiteDatabase.run(sql, binds, on: connection)
    }
}

extension SQLValue {
    var sqliteData: SQLiteData {
        switch self {
        case .null: .null
        case .int(let value): .integer(Int(value))
        case .double(let value): .float(value)
        case .text(let value): .text(value)
        case .bool(let value): .integer(value ? 1 : 0)
        case .blob(let value): .blob(ByteBuffer(bytes: value))
        }
    }

    init(_ data: SQLiteData) {
        switch data {
        case .null: self = .null
        case .integer(let value): self = .int(Int64(value))
        case .float(let value): self = .double(value)
        case .text(let value): self = .text(value)
        case .blob(let buffer): self = .blob(Array(buffer.readableBytesView))
        }
    }
}

/// Statements are written with PostgreSQL's `$1` placeholders. SQLite reads `?1` as the same
/// numbered parameter, so the text outside quotes is rewritten once per statement.
enum SQLPlaceholders {
    static func sqlite(_ sql: String) -> String {
        guard sql.contains("$") else { return sql }
        var out = ""
        out.reserveCapacity(sql.utf8.count)
        var inQuote = false
        for character in sql {
            if character == "'" { inQuote.toggle() }
            out.append(character == "$" && !inQuote ? "?" : character)
        }
        return out
    }
}
