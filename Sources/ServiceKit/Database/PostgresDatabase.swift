import Foundation
import Logging
import NIOCore
import PostgresNIO

/// A service's database on PostgreSQL: a pooled client whose connections all use the service's
/// own schema, so one PostgreSQL database can hold every service without their tables meeting.
public final class PostgresDatabase: Database {
    public let dialect = SQLDialect.postgres
    public let client: PostgresClient
    private let logger: Logger

    init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Builds the client from a `postgres://user:password@host:port/database` URL. `schema`, when
    /// given, becomes the connections' search path; the migrator creates it.
    public static func configuration(url: String, schema: String?, maxConnections: Int) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url),
              ["postgres", "postgresql"].contains(components.scheme ?? ""),
              let user = components.user
        else { throw DatabaseError.invalidURL(url) }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let query = Dictionary(
            (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        var configuration: PostgresClient.Configuration
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            let port = components.port ?? 5432
            configuration = .init(
                unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user,
                password: components.password, database: database.isEmpty ? nil : database)
        } else {
            let tls: PostgresClient.Configuration.TLS =
                query["sslmode"] == "require" ? .require(.makeClientConfiguration()) : .disable
            configuration = .init(
                host: components.host ?? "localhost", port: components.port ?? 5432, username: user,
                password: components.password, database: database.isEmpty ? nil : database, tls: tls)
        }
        configuration.options.maximumConnections = maxConnections
        if let schema {
            configuration.options.additionalStartupParameters = [("search_path", schema)]
        }
        return configuration
    }

    public static func make(url: String, schema: String?, maxConnections: Int = 16, logger: Logger) throws -> PostgresDatabase {
        let client = PostgresClient(
            configuration: try configuration(url: url, schema: schema, maxConnections: maxConnections),
            backgroundLogger: logger)
        return PostgresDatabase(client: client, logger: logger)
    }

    /// A statement outside a transaction; one whose prepared form went stale on its connection
    /// (that connection is closed) runs again on another.
    public func query(_ statement: SQL) async throws -> [SQLRow] {
        try await Self.translatingErrors {
            do {
                return try await client.withConnection { try await Self.run(statement, on: $0, logger: self.logger) }
            } catch let error as PSQLError where PreparedSQL.isStale(error) {
                return try await client.withConnection { try await Self.run(statement, on: $0, logger: self.logger) }
            }
        }
    }

    /// A transaction PostgreSQL chose to abort because it deadlocked with another (40P01) or
    /// could not be serialised (40001), or that met a stale prepared statement, runs again from
    /// the start, up to three times in all: nothing of the aborted attempt was kept.
    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await Self.translatingErrors {
                    try await self.client.withTransaction(logger: self.logger) { connection in
                        try await body(PostgresTransaction(connection: connection, logger: self.logger))
                    }
                }
            } catch let error as PSQLError
                        where attempt < 3 && (["40P01", "40001"].contains(error.serverInfo?[.sqlState] ?? "") || PreparedSQL.isStale(error)) {
                logger.debug("transaction retried", metadata: ["sqlState": "\(error.serverInfo?[.sqlState] ?? "")", "attempt": "\(attempt)"])
                attempt += 1
            }
        }
    }

    public func run() async throws {
        await client.run()
    }

    public func close() async throws {}

    /// The one place a statement's text meets postgres-nio: `SQL` has numbered the placeholders
    /// and every value is a bind. Data statements are prepared once per connection (PreparedSQL).
    static func run(_ statement: SQL, on connection: PostgresConnection, logger: Logger) async throws -> [SQLRow] {
        let (text, binds) = statement.rendered(for: .postgres)
        var bindings = PostgresBindings(capacity: binds.count)
        var types: [PostgresDataType] = []
        types.reserveCapacity(binds.count)
        for bind in binds {
            switch bind {
            case .null: bindings.appendNull(); types.append(.null)
            case .int(let value): bindings.append(value); types.append(.int8)
            case .double(let value): bindings.append(value); types.append(.float8)
            case .text(let value): bindings.append(value); types.append(.text)
            case .bool(let value): bindings.append(value); types.append(.bool)
            case .blob(let value): bindings.append(ByteBuffer(bytes: value)); types.append(.bytea)
            }
        }
        guard PreparedSQL.isPrepared(text, bindCount: binds.count) else {
            return try await collect(connection.query(PostgresQuery(unsafeSQL: text, binds: bindings), logger: logger))
        }
        let prepared = PreparedSQL.Current(name: PreparedSQL.statementName(text, types: types), sql: text, types: types)
        do {
            return try await PreparedSQL.run(prepared, bindings: bindings, on: connection, logger: logger)
        } catch let error as PSQLError where PreparedSQL.isStale(error) {
            try? await connection.close()
            throw error
        }
    }

    static func collect<Rows: AsyncSequence>(_ rows: Rows) async throws -> [SQLRow] where Rows.Element == PostgresRow {
        var result: [SQLRow] = []
        var columns: SQLColumns?
        for try await row in rows {
            var cells: [SQLValue] = []
            cells.reserveCapacity(row.count)
            for cell in row { cells.append(try SQLValue(cell)) }
            let shared = columns ?? SQLColumns(row.map(\.columnName))
            columns = shared
            result.append(SQLRow(columns: shared, cells: cells))
        }
        return result
    }

    static func translatingErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresTransactionError {
            // The transaction's own failure is what the caller meant to throw: a ServiceError
            // must reach the client as itself, not as a transaction wrapper.
            if let closureError = error.closureError { throw translated(closureError) }
            throw translated(error.beginError ?? error.commitError ?? error)
        } catch {
            throw translated(error)
        }
    }

    /// Constraint violations become `DatabaseError`s, as on SQLite: unique (SQLSTATE 23505),
    /// foreign key (23503) and check (23514).
    static func translated(_ error: any Error) -> any Error {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return error }
        let constraint = error.serverInfo?[.constraintName] ?? "constraint"
        switch state {
        case "23505": return DatabaseError.uniqueViolation(constraint)
        case "23503": return DatabaseError.foreignKeyViolation(constraint)
        case "23514": return DatabaseError.checkViolation(constraint)
        default: return error
        }
    }
}

struct PostgresTransaction: SQLExecutor {
    let dialect = SQLDialect.postgres
    let connection: PostgresConnection
    let logger: Logger

    func query(_ statement: SQL) async throws -> [SQLRow] {
        try await PostgresDatabase.translatingErrors {
            try await PostgresDatabase.run(statement, on: connection, logger: logger)
        }
    }
}

extension SQLValue {
    init(_ cell: PostgresCell) throws {
        guard cell.bytes != nil else {
            self = .null
            return
        }
        switch cell.dataType {
        case .int8, .int4, .int2: self = .int(try cell.decode(Int64.self))
        case .float8, .float4: self = .double(try cell.decode(Double.self))
        case .numeric:
            // SUM of a BIGINT is NUMERIC: a whole number stays an integer.
            let decimal = try cell.decode(Decimal.self)
            let number = NSDecimalNumber(decimal: decimal)
            self = Decimal(number.int64Value) == decimal ? .int(number.int64Value) : .double(number.doubleValue)
        case .bool: self = .bool(try cell.decode(Bool.self))
        case .bytea: self = .blob(Array(try cell.decode(ByteBuffer.self).readableBytesView))
        default: self = .text(try cell.decode(String.self))
        }
    }
}
