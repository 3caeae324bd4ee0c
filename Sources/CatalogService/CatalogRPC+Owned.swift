import AtelierProtos
import Foundation
import ServiceKit
import SwiftProtobuf

/// What every user-facing RPC does with the caller's own rows, written once: read one by the id
/// its route names, change one under its row lock, delete one, and create one a service asks for
/// at most once per idempotency key.
extension CatalogRPC {
    /// The caller's row named by `raw` (a path or request id), or NotFound.
    func owned<Row>(_ table: OwnedTable<Row>, _ raw: String, field: String, on db: (any SQLExecutor)? = nil,
                    lock: Bool = false) async throws -> Row {
        try await table.get(db ?? database, id: try Rules.id(raw, field: field, what: table.noun), owner: try user(), lock: lock)
    }

    /// Reads the caller's row with its lock, lets `change` edit it, stamps `updated_at` and lets
    /// `write` store it (given the row as it was, too), in one transaction; returns the row as written.
    func changeOwned<Row: TimeStamped>(
        _ table: OwnedTable<Row>, _ raw: String, field: String, owner: String? = nil, _ change: @escaping @Sendable (inout Row) throws -> Void,
        write: @escaping @Sendable (_ tx: any SQLExecutor, _ before: Row, _ after: Row, _ user: String) async throws -> Void
    ) async throws -> Row {
        let userID = try owner ?? user()
        let id = try Rules.id(raw, field: field, what: table.noun)
        let now = Date.databaseNow
        return try await database.transaction { tx in
            let before = try await table.get(tx, id: id, owner: userID, lock: true)
            var after = before
            try change(&after)
            after.updatedAt = .init(date: now)
            try await write(tx, before, after, userID)
            return after
        }
    }

    func changeOwned<Row: TimeStamped>(
        _ table: OwnedTable<Row>, _ raw: String, field: String, owner: String? = nil, _ change: @escaping @Sendable (inout Row) throws -> Void,
        write: @escaping @Sendable (_ tx: any SQLExecutor, _ row: Row, _ user: String) async throws -> Void
    ) async throws -> Row {
        try await changeOwned(table, raw, field: field, owner: owner, change) { tx, _, after, user in try await write(tx, after, user) }
    }

    /// Deletes the caller's row named by `raw` (what hangs off it goes by its foreign keys).
    func deleteOwned<Row>(_ table: OwnedTable<Row>, _ raw: String, field: String) async throws -> Atelier_Catalog_V1_SuccessResponse {
        try await table.delete(database, id: try Rules.id(raw, field: field, what: table.noun), owner: try user())
        return .with { $0.success = true }
    }

    /// A services-only create for `owner`, run in a transaction at most once per idempotency key.
    func createOnce<Row>(_ table: OwnedTable<Row>, owner: String, key: String?,
                         _ create: @escaping @Sendable (any SQLExecutor) async throws -> Row) async throws -> Row {
        let database = database
        return try await table.createOnce(database, owner: owner, key: key) {
            try await database.transaction { tx in try await create(tx) }
        }
    }
}

/// A row the API shows with the time of its last change.
protocol TimeStamped {
    var updatedAt: Google_Protobuf_Timestamp { get set }
}

extension Atelier_Catalog_V1_Character: TimeStamped {}
extension Atelier_Catalog_V1_Theme: TimeStamped {}
extension Atelier_Catalog_V1_Collection: TimeStamped {}
extension Atelier_Catalog_V1_Hero: TimeStamped {}
extension Atelier_Catalog_V1_Story: TimeStamped {}
extension Atelier_Catalog_V1_CustomStoryEvent: TimeStamped {}
