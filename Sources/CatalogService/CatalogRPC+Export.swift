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
        let from: String
        let columns: String
        /// The owner column, the creation time and a unique key, qualified as `from` needs.
        let owner: String
        let sort: String
        let key: String
        /// Rows read at once; small where a row can be large (a story's text is up to 50,000).
        let batch: Int
        let add: @Sendable (_ page: inout Atelier_Catalog_V1_CatalogExport, _ rows: [SQLRow], _ db: any SQLExecutor, _ user: String) async throws -> Void
    }

    /// In the order of CatalogExport's fields.
    static let exportParts: [ExportPart] = [
        ExportPart(from: "characters", columns: CharacterRecord.columns, owner: "user_id", sort: "created_at", key: "id", batch: 50) {
            page, rows, _, _ in page.characters += try rows.map(CharacterRecord.character)
        },
        ExportPart(from: "themes", columns: themeColumns, owner: "user_id", sort: "created_at", key: "id", batch: 200) {
            page, rows, _, _ in page.themes += try rows.map(theme)
        },
        ExportPart(from: "variants", columns: variantColumns, owner: "user_id", sort: "created_at", key: "id", batch: 100) {
            page, rows, _, _ in page.variants += try rows.map(variant)
        },
        ExportPart(from: "collections", columns: collectionColumns, owner: "user_id", sort: "created_at", key: "id", batch: 200) {
            page, rows, _, _ in page.collections += try rows.map(collection)
        },
        ExportPart(from: "collection_characters", columns: "collection_id, character_id", owner: "user_id", sort: "added_at",
                   key: "collection_id || '/' || character_id", batch: 500) { page, rows, _, _ in
            page.collectionCharacters += try rows.map { row in
                var membership = Atelier_Catalog_V1_CollectionMembership()
                membership.collectionID = try row.string("collection_id")
                membership.characterID = try row.string("character_id")
                return membership
            }
        },
        ExportPart(from: "media", columns: mediaColumns, owner: "user_id", sort: "created_at", key: "id", batch: 200) {
            page, rows, _, _ in page.media += try rows.map(media)
        },
        ExportPart(from: "heroes", columns: heroColumns, owner: "user_id", sort: "created_at", key: "id", batch: 100) {
            page, rows, _, _ in page.heroes += try rows.map(hero)
        },
        ExportPart(from: storyFrom, columns: storyColumns, owner: "s.user_id", sort: "s.created_at", key: "s.id", batch: 20) {
            page, rows, db, user in
            var stories = try rows.map(story)
            guard !stories.isEmpty else { return }
            let placeholders = (0..<stories.count).map { "$\($0 + 2)" }.joined(separator: ", ")
            let illustrations = try await db.query(
                "SELECT \(illustrationColumns) FROM illustrations WHERE user_id = $1 AND story_id IN (\(placeholders)) ORDER BY story_id, display_order",
                [.text(user)] + stories.map { .text($0.id) }
            ).map(illustration)
            let byStory = Dictionary(grouping: illustrations, by: \.storyID)
            for index in stories.indices { stories[index].illustrations = byStory[stories[index].id] ?? [] }
            page.stories += stories
        },
        ExportPart(from: "custom_events", columns: customEventColumns, owner: "user_id", sort: "created_at", key: "id", batch: 200) {
            page, rows, _, _ in page.customEvents += try rows.map(customEvent)
        },
        ExportPart(from: "file_uploads", columns: uploadColumns, owner: "user_id", sort: "created_at", key: "storage_key", batch: 200) {
            page, rows, _, _ in page.files += try rows.map(upload)
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
                SELECT \(part.columns), \(part.sort) AS export_sort, \(part.key) AS export_key FROM \(part.from)
                WHERE \(part.owner) = $1 AND (\(part.sort) > $2 OR (\(part.sort) = $2 AND \(part.key) > $3))
                ORDER BY \(part.sort), \(part.key) LIMIT $4
                """, .text(userID), .int(cursor.sort), .text(cursor.key), .int(Int64(part.batch)))
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
