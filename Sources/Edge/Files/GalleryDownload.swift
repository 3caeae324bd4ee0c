import AtelierProtos
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Hummingbird
import Logging
import ServiceKit
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `GET /api/characters/{character_id}/media.zip`: a character's whole gallery as one ZIP,
/// streamed as each file is read, so the edge holds one file at a time. The gallery is listed
/// (and ownership checked: another user's character is a 404) before the first byte goes out;
/// a file that cannot be read then is named in `MISSING.txt` inside the archive instead.
struct GalleryDownload: Sendable {
    static let path = "/api/characters/{character_id}/media.zip"
    /// Bounds that keep an archive within plain ZIP (no ZIP64) and a request within reason.
    static let maxItems = 1000
    static let maxFileBytes = 512 << 20
    static let maxTotalBytes = 3 << 30

    let upstreams: Upstreams
    let store: any BlobStore
    let sessions: SessionResolver
    let pool: BoundedWorkPool
    let logger: Logger

    func download(_ request: Request, _ context: some RequestContext) async throws -> Response {
        guard let token = Transcoder.bearerToken(request) else { throw EdgeError.unauthenticated }
        let session = try await sessions.resolve(token: token)
        let characterID = context.parameters.get("character_id").map { String($0) } ?? ""
        let asUser = session.metadata

        var items: [Atelier_Catalog_V1_Media] = []
        while items.count < Self.maxItems {
            let page = try await upstreams.catalog.call(CatalogMethods.ListMedia.self, .with {
                $0.characterID = characterID
                $0.limit = 100
                $0.offset = Int32(items.count)
            }, metadata: asUser)
            items += page.media
            if page.media.count < 100 || Int64(items.count) >= page.pagination.total { break }
        }
        items = Array(items.prefix(Self.maxItems))

        let store = store, pool = pool, logger = logger, listed = items
        let body = ResponseBody { writer in
            var archive = ZipArchive()
            var total = 0
            var missing: [String] = []
            for (index, item) in listed.enumerated() {
                let name = Self.entryName(index: index, item: item)
                guard let bytes = await Self.fetch(item.url, store: store, logger: logger), total + bytes.count <= Self.maxTotalBytes else {
                    missing.append("\(name)\t\(item.url)")
                    continue
                }
                total += bytes.count
                // Checksumming a video is CPU work: it goes to the pool, not the event loop.
                let crc = try await pool.run { CRC32.checksum(bytes) }
                try await writer.write(ByteBuffer(bytes: archive.entry(name: name, bytes: bytes, modified: item.createdAt.date, crc: crc)))
            }
            if !missing.isEmpty {
                let note = "These files could not be read when the archive was made:\n" + missing.joined(separator: "\n") + "\n"
                try await writer.write(ByteBuffer(bytes: archive.entry(name: "MISSING.txt", bytes: Array(note.utf8), modified: Date())))
            }
            try await writer.write(ByteBuffer(bytes: archive.finish()))
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/zip",
                      .contentDisposition: "attachment; filename=\"\(Self.safe(characterID))-gallery.zip\"",
                      .cacheControl: "no-store"],
            body: body)
    }

    /// `001-image-med_abc.png`: gallery order, kind, id and the file's own extension.
    static func entryName(index: Int, item: Atelier_Catalog_V1_Media) -> String {
        let fromURL = URL(string: item.url)?.pathExtension.lowercased() ?? ""
        let ext = fromURL.isEmpty || fromURL.count > 5 ? (item.type == "video" ? "mp4" : "png") : fromURL
        return String(format: "%03d", index + 1) + "-\(item.type)-\(safe(item.id)).\(ext)"
    }

    static func safe(_ text: String) -> String {
        String(text.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }.prefix(64))
    }

    /// A gallery file's bytes: from this deployment's blob store when the link is one of its
    /// own, otherwise over HTTP(S) (media links are written by services, never by users).
    static func fetch(_ link: String, store: any BlobStore, logger: Logger) async -> [UInt8]? {
        guard let url = URL(string: link), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else { return nil }
        do {
            if let key = store.key(forURL: url) { return try await store.read(key: key, limit: maxFileBytes) }
            let (data, response) = try await URLSession.shared.data(from: url)
            guard let status = (response as? HTTPURLResponse)?.statusCode, (200..<300).contains(status), data.count <= maxFileBytes else { return nil }
            return [UInt8](data)
        } catch {
            logger.warning("gallery file unreadable", metadata: ["url": "\(link)", "error": "\(error)"])
            return nil
        }
    }

    static var openAPIPaths: [(String, JSONValue)] {
        [(path, .object([("get", .object([
            ("operationId", .string("DownloadGallery")),
            ("tags", .array([.string("Files")])),
            ("summary", .string("A character's images and videos as one ZIP archive")),
            ("security", .array([.object([("bearerAuth", .array([]))])])),
            ("parameters", .array([.object([("name", .string("character_id")), ("in", .string("path")), ("required", .bool(true)),
                                            ("schema", .object([("type", .string("string"))]))])])),
            ("responses", .object([
                ("200", .object([("description", .string("The archive")), ("content", .object([("application/zip", .object([
                    ("schema", .object([("type", .string("string")), ("format", .string("binary"))])),
                ]))]))])),
                ("400", OpenAPIDocument.errorResponse("Invalid request")),
                ("401", OpenAPIDocument.errorResponse("Not signed in")),
                ("404", OpenAPIDocument.errorResponse("No such character")),
                ("503", OpenAPIDocument.errorResponse("A service is unavailable")),
                ("504", OpenAPIDocument.errorResponse("A service took too long")),
            ])),
        ]))]))]
    }
}
