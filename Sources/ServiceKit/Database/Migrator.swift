import Foundation
import Logging

/// One versioned change to a service's schema. Most statements read the same on both databases;
/// where they do not, `postgres` gives PostgreSQL its own text.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let statements: [SQL]
    public let postgresStatements: [SQL]?

    public init(version: Int, name: String, statements: [SQL], postgres: [SQL]? = nil) {
        self.version = version
        self.name = name
        self.statements = statements
        self.postgresStatements = postgres
    }

    func statements(for dialect: SQLDialect) -> [SQL] {
        dialect == .postgres ? (postgresStatements ?? statements) : statements
    }
}

/// Applies a service's migrations in order at start-up, each in its own transaction, and records
/// them in `schema_migrations`. On PostgreSQL an advisory lock keeps two replicas starting at
/// once from applying the same migration twice.
public struct Migrator: Sendable {
    public let service: String
    public let migrations: [Migration]

    public init(service: String, migrations: [Migration]) {
        self.service = service
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    @discardableResult
    public func migrate(_ database: any Database, schema: String?, logger: Logger) async throws -> [Int] {
        if database.dialect == .postgres, let schema {
            try await database.query("CREATE SCHEMA IF NOT EXISTS \(try SQLIdentifier(checked: schema))")
        }
        try await database.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at BIGINT NOT NULL
            )
            """)
        var applied: [Int] = []
        for migration in migrations {
            let didApply = try await database.transaction { tx in
                if tx.dialect == .postgres {
                    _ = try await tx.query("SELECT pg_advisory_xact_lock(\(Self.lockKey(service)))")
                }
                let done = try await tx.query("SELECT version FROM schema_migrations WHERE version = \(migration.version)")
                guard done.isEmpty else { return false }
                for statement in migration.statements(for: tx.dialect) {
                    do {
                        try await tx.query(statement)
                    } catch {
                        throw DatabaseError.migrationFailed(version: migration.version, message: String(describing: error))
                    }
                }
                try await tx.query("""
                    INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(migration.version), \(migration.name), \(Date()))
                    """)
                return true
            }
            if didApply {
                applied.append(migration.version)
                logger.info("applied migration", metadata: [
                    "service": "\(service)", "version": "\(migration.version)", "name": "\(migration.name)",
                ])
            }
        }
        return applied
    }

    /// A stable 63-bit key per service for PostgreSQL's advisory lock.
    static func lockKey(_ service: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "atelier.migrations.\(service)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int64(bitPattern: hash & 0x7fff_ffff_ffff_ffff)
    }
}
