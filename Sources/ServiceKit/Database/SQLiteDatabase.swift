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
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            // The file holds password hashes, sessions and payments: readable by its owner only,
            // like the principal key beside it. SQLite gives its -wal and -shm files the same mode.
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                    throw DatabaseError.cannotCreate(path)
                }
            }
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

    public func query(_ statement: SQL) async throws -> [SQLRow] {
        try await lock.withLock { try await Self.run(statement, on: self.connection) }
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

    static func run(_ statement: SQL, on connection: SQLiteConnection) async throws -> [SQLRow] {
        let (sql, binds) = statement.rendered(for: .sqlite)
        let rows: [SQLiteRow]
        do {
            rows = try await connection.query(sql, binds.map(\.sqliteData))
        } catch let error as SQLiteError {
            throw translated(error)
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

    func query(_ statement: SQL) async throws -> [SQLRow] {
        try await SQLiteDatabase.run(statement, on: connection)
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

extension SQLiteDatabase {
    /// Constraint failures become `DatabaseError`s, as on PostgreSQL.
    static func translated(_ error: SQLiteError) -> any Error {
        let message = error.message
        guard error.reason == .constraint || message.contains("constraint failed") else { return error }
        if message.contains("UNIQUE") || message.contains("PRIMARY KEY") { return DatabaseError.uniqueViolation(message) }
        if message.contains("FOREIGN KEY") { return DatabaseError.foreignKeyViolation(message) }
        if message.contains("CHECK") { return DatabaseError.checkViolation(message) }
        return error
    }
}
