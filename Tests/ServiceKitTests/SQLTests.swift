import AtelierTestSupport
import Foundation
import Logging
@testable import ServiceKit
import Testing

@Suite("Typed SQL statements")
struct SQLTests {
    @Test("interpolated values become binds, numbered per dialect in order")
    func binds() {
        let id = "hero_1'; DROP TABLE heroes; --"
        let statement: SQL = "SELECT name FROM heroes WHERE id = \(id) AND age > \(7) AND kept = \(true)"
        let postgres = statement.rendered(for: .postgres)
        #expect(postgres.text == "SELECT name FROM heroes WHERE id = $1 AND age > $2 AND kept = $3")
        #expect(postgres.binds == [.text(id), .int(7), .bool(true)])
        #expect(statement.rendered(for: .sqlite).text == "SELECT name FROM heroes WHERE id = ?1 AND age > ?2 AND kept = ?3")
    }

    @Test("fragments with their own binds compose without counting")
    func fragments() {
        let conditions: [SQL] = ["user_id = \("u1")", "style_type = \("anime")", "is_public = TRUE"]
        let page: SQL = "LIMIT \(20) OFFSET \(40)"
        let statement: SQL = "SELECT id FROM characters \(SQL.where(conditions)) ORDER BY id \(page)"
        let rendered = statement.rendered(for: .postgres)
        #expect(rendered.text == "SELECT id FROM characters WHERE user_id = $1 AND style_type = $2 AND is_public = TRUE ORDER BY id LIMIT $3 OFFSET $4")
        #expect(rendered.binds == [.text("u1"), .text("anime"), .int(20), .int(40)])
        #expect(SQL.where([]).isEmpty)
    }

    @Test("assignments, lists and rows render their binds in place")
    func lists() {
        let set = SQL.assignments([("name", .text("Ada")), ("age", .int(9))])
        let statement: SQL = "UPDATE heroes SET \(set) WHERE id IN (\(list: [.text("a"), .text("b")]))"
        #expect(statement.rendered(for: .postgres).text == "UPDATE heroes SET name = $1, age = $2 WHERE id IN ($3, $4)")
        let insert: SQL = "INSERT INTO t (a, b) VALUES \(SQL.rows([[.int(1), .null], [.int(2), .text("x")]]))"
        #expect(insert.rendered(for: .sqlite).text == "INSERT INTO t (a, b) VALUES (?1, ?2), (?3, ?4)")
    }

    @Test("identifiers come from constants; a configured one is checked and quoted")
    func identifiers() throws {
        let table: SQLIdentifier = "heroes"
        let columns: [SQLIdentifier] = ["id", "name"]
        #expect(SQL("SELECT \(columns) FROM \(table)").rendered(for: .postgres).text == "SELECT id, name FROM heroes")
        #expect(try SQLIdentifier(checked: "serve_catalog").name == "\"serve_catalog\"")
        for bad in ["", "a b", "x\"; DROP", "1abc", String(repeating: "a", count: 64)] {
            #expect(throws: DatabaseError.self) { try SQLIdentifier(checked: bad) }
        }
    }

    @Test("a clause only one dialect has renders for that one alone")
    func dialects() {
        let statement: SQL = "SELECT id FROM heroes WHERE id = \("h")\(SQL.forUpdate)"
        #expect(statement.rendered(for: .postgres).text == "SELECT id FROM heroes WHERE id = $1 FOR UPDATE")
        #expect(statement.rendered(for: .sqlite).text == "SELECT id FROM heroes WHERE id = ?1")
    }

    @Test("a value that looks like SQL stays a value on both databases", arguments: TestBackend.available)
    func injection(backend: TestBackend) async throws {
        try await DatabaseTests.withDatabase(backend) { database, schema in
            try await Migrator(service: "kit", migrations: [
                Migration(version: 1, name: "notes", statements: ["CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL)"]),
            ]).migrate(database, schema: schema, logger: .init(label: "test"))
            let body = "x'); DROP TABLE notes; --"
            try await database.query("INSERT INTO notes (id, body) VALUES (\("n1"), \(body))")
            let row = try await database.first("SELECT body FROM notes WHERE id = \("n1")")
            #expect(try row?.string("body") == body)
        }
    }
}
