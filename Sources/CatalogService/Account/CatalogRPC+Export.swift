import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// The catalog's share of GET /api/user/export, a page at a time. A page ends once it holds
/// about `exportPageBytes`; its token names the kind and the last row sent, so the next page
/// goes on from there (rows are read in creation order, keyed by id, so nothing is skipped or
/// sent twice when rows are added or deleted between pages).
extension CatalogRPC {
    static let exportPageBytes = 1 << 20

    /// One kind of row in the export: where it is read from and how a batch joins the page.
    struct ExportPart: Sendable {
        let selection, from: SQL
        /// The owner column, the creation time and a unique key, qualified as `from` needs.
        let owner, sort, key: SQL
        /// Rows read at once; small where a row can be large (a story's text is up to 50,000).
        let batch: Int
        let add: @Sendable (_ page: inout Atelier_Catalog_V1_CatalogExport, _ rows: [SQLRow], _ db: any SQLExecutor, _ user: String) async throws -> Void
    }

    /// In the order of CatalogExport's fields.
    static let exportParts: [ExportPart] = [
        ExportPart(CharacterStore.table, batch: 50) { $0.characters += $1 },
        ExportPart(ThemeStore.table, batch: 200) { $0.themes += $1 },
        ExportPart(ThemeStore.variants, batch: 100) { $0.variants += $1 },
        ExportPart(CollectionStore.table, batch: 200) { $0.collections += $1 },
        ExportPart(selection: "collection_id, character_id", from: "collection_characters", owner: "user_id", sort: "added_at",
                   key: "collection_id || '/' || character_id", batch: 500) { page, rows, _, _ in
            page.collectionCharacters += try rows.map { row in
                try .with {
                    $0.collectionID = try row.string("collection_id")
                    $0.characterID = try row.string("character_id")
                }
            }
        },
        ExportPart(MediaStore.table, batch: 200) { $0.media += $1 },
        ExportPart(HeroStore.table, batch: 100) { $0.heroes += $1 },
        ExportPart(selection: StoryStore.table.selection, from: StoryStore.table.from, owner: "s.user_id", sort: "s.created_at",
                   key: "s.id", batch: 20) { page, rows, db, user in
            var stories = try rows.map(StoryStore.table.read)
            let byStory = try await StoryStore.illustrations(db, stories: stories.map(\.id), user: user)
            for index in stories.indices { stories[index].illustrations = byStory[stories[index].id] ?? [] }
            page.stories += stories
        },
        ExportPart(CustomEventStore.table, batch: 200) { $0.customEvents += $1 },
        ExportPart(selection: "\(UploadStore.columns.names())", from: "file_uploads", owner: "user_id", sort: "created_at",
                   key: "storage_key", batch: 200) { page, rows, _, _ in
            page.files += try rows.map(UploadStore.columns.read)
        },
    ]

    public func exportUser(request: Atelier_Catalog_V1_ExportUserRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ExportUserResponse {
        let userID = try serviceSubject(request.userID)
        var cursor = try ExportCursor(token: request.pageToken, parts: Self.exportParts.count)
        var page = Atelier_Catalog_V1_CatalogExport()
        var bytes = 0
        while cursor.part < Self.exportParts.count, bytes < Self.exportPageBytes {
            let part = Self.exportParts[cursor.part]
            let rows = try await database.query("""
                SELECT \(part.selection), \(part.sort) AS export_sort, \(part.key) AS export_key FROM \(part.from)
                WHERE \(part.owner) = \(userID) AND (\(part.sort) > \(cursor.sort) OR (\(part.sort) = \(cursor.sort) AND \(part.key) > \(cursor.key)))
                ORDER BY \(part.sort), \(part.key) LIMIT \(part.batch)
                """)
            try await part.add(&page, rows, database, userID)
            bytes += rows.reduce(0) { $0 + $1.approximateByteCount }
            if let last = rows.last, rows.count == part.batch {
                cursor = ExportCursor(part: cursor.part, sort: try last.int("export_sort"), key: try last.string("export_key"))
            } else {
                cursor = ExportCursor(part: cursor.part + 1)
            }
        }
        let next = cursor.part < Self.exportParts.count ? cursor.token : ""
        return .with {
            $0.items = page
            $0.nextPageToken = next
        }
    }
}

/// Where an export page starts: a kind (`CatalogRPC.exportParts`) and the last row already sent
/// of it, written as `part:sort:key`.
struct ExportCursor {
    let part: Int
    let sort: Int64
    let key: String

    init(part: Int, sort: Int64 = .min, key: String = "") {
        self.part = part
        self.sort = sort
        self.key = key
    }

    init(token: String, parts: Int) throws {
        guard !token.isEmpty else {
            self.init(part: 0)
            return
        }
        let fields = token.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard token.utf8.count <= 400, fields.count == 3, let part = Int(fields[0]), (0..<parts).contains(part),
              let sort = Int64(fields[1])
        else { throw ServiceError.invalid("pageToken", "pageToken is not one this service gave") }
        self.init(part: part, sort: sort, key: String(fields[2]))
    }

    var token: String { "\(part):\(sort):\(key)" }
}

extension CatalogRPC.ExportPart {
    /// An owned entity's rows, read as its store reads them.
    init<Row>(_ table: OwnedTable<Row>, sort: SQLIdentifier = "created_at", batch: Int,
              _ add: @escaping @Sendable (inout Atelier_Catalog_V1_CatalogExport, [Row]) -> Void) {
        self.init(selection: table.selection, from: table.from, owner: table.column("user_id"), sort: table.column(sort),
                  key: table.column("id"), batch: batch) { page, rows, _, _ in add(&page, try rows.map(table.read)) }
    }
}
