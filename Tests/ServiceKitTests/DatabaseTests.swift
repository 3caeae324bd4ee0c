import AtelierTestSupport
import Foundation
import Logging
import ServiceKit
import Testing

@Suite("One database layer over SQLite and PostgreSQL")
struct DatabaseTests {
    static func withDatabase(_ backend: TestBackend, _ body: (any Database, String) async throws -> Void) async throws {
        let configuration = Configuration(environment: [:]).overriding(backend.isolatedConfiguration())
        let database = try await ServiceDatabase.open(service: "kit", configuration: configuration, logger: Logger(label: "test"))
        let schema = ServiceDatabase.schema(service: "kit", configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await database.run() }
            do {
                try await body(database, schema)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    static let migrations = [
        Migration(version: 1, name: "things", statements: [
            "CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL, flag BOOLEAN NOT NULL, note TEXT, at BIGINT)",
        ]),
        Migration(version: 2, name: "index", statements: ["CREATE INDEX things_n ON things (n)"]),
    ]

    @Test("migrations apply once, in order, and are recorded", arguments: TestBackend.available)
    func migrates(backend: TestBackend) async throws {
        try await Self.withDatabase(backend) { database, schema in
            let migrator = Migrator(service: "kit", migrations: Self.migrations)
            #expect(try await migrator.migrate(database, schema: schema, logger: Logger(label: "test")) == [1, 2])
            #expect(try await migrator.migrate(database, schema: schema, logger: Logger(label: "test")) == [])
            let recorded = try await database.query("SELECT version FROM schema_migrations ORDER BY version")
            #expect(try recorded.map { try $0.int("version") } == [1, 2])
        }
    }

    @Test("values round-trip alike on both databases", arguments: TestBackend.available)
    func roundTrip(backend: TestBackend) async throws {
        try await Self.withDatabase(backend) { database, schema in
            try await Migrator(service: "kit", migrations: Self.migrations).migrate(database, schema: schema, logger: Logger(label: "test"))
            let now = Date.databaseNow
            try await database.query("INSERT INTO things (id, n, flag, note, at) VALUES (\("a"), \(Int64.max), \(true), \(SQLValue.null), \(now))")
            let row = try #require(try await database.first("SELECT * FROM things WHERE id = \("a")"))
            #expect(try row.int("n") == Int64.max)
            #expect(try row.bool("flag"))
            #expect(try row.optionalString("note") == nil)
            #expect(try row.date("at") == now)
            #expect(throws: DatabaseError.self) { try row.string("n") }
        }
    }

    @Test("a unique violation is reported the same way on both", arguments: TestBackend.available)
    func uniqueViolation(backend: TestBackend) async throws {
        try await Self.withDatabase(backend) { database, schema in
            try await Migrator(service: "kit", migrations: Self.migrations).migrate(database, schema: schema, logger: Logger(label: "test"))
            try await database.query("INSERT INTO things (id, n, flag) VALUES ('a', 1, FALSE)")
            await #expect(throws: DatabaseError.self) {
                try await database.query("INSERT INTO things (id, n, flag) VALUES ('a', 2, FALSE)")
            }
        }
    }

    @Test("a transaction that throws leaves nothing behind", arguments: TestBackend.available)
    func rollback(backend: TestBackend) async throws {
        struct Boom: Error {}
        try await Self.withDatabase(backend) { database, schema in
            try await Migrator(service: "kit", migrations: Self.migrations).migrate(database, schema: schema, logger: Logger(label: "test"))
            await #expect(throws: Boom.self) {
                try await database.transaction { tx in
                    try await tx.query("INSERT INTO things (id, n, flag) VALUES ('a', 1, FALSE)")
                    throw Boom()
                }
            }
            #expect(try await database.query("SELECT id FROM things").isEmpty)
        }
    }

    @Test("concurrent transactions each see a consistent count", arguments: TestBackend.available)
    func concurrentTransactions(backend: TestBackend) async throws {
        try await Self.withDatabase(backend) { database, schema in
            try await Migrator(service: "kit", migrations: Self.migrations).migrate(database, schema: schema, logger: Logger(label: "test"))
            try await database.query("INSERT INTO things (id, n, flag) VALUES ('counter', 0, FALSE)")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await database.transaction { tx in
                            _ = try await tx.query("UPDATE things SET n = n + 1 WHERE id = 'counter'")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let row = try #require(try await database.first("SELECT n FROM things WHERE id = 'counter'"))
            #expect(try row.int("n") == 20)
        }
    }
}
