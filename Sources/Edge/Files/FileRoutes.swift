import AtelierProtos
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import HTTPTypes
import Hummingbird
import Logging
import ServiceKit

/// File uploads and, for the local blob store, the signed file routes (DESIGN.md, "Blobs").
/// `POST /api/files/upload` checks what the client means to upload and answers with a URL to PUT
/// it to: the bucket's presigned URL, or this edge's `/files/<key>` signed for that type and size.
struct FileRoutes: Sendable {
    static let uploadPath = "/api/files/upload"
    static let filePath = "/files/{folder}/{name}"

    let upstreams: Upstreams
    let store: any BlobStore
    /// The same store when it is local: the edge then serves `/files/...` itself.
    let local: LocalBlobStore?
    let sessions: SessionResolver
    /// The catalog records each upload, so a user's files are known when the account goes.
    let rateLimiter: RateLimiter?
    let uploadLifetime: TimeInterval
    let downloadLifetime: TimeInterval
    /// A permanent public base for files (a CDN or public bucket domain), when there is one.
    let publicBaseURL: String?

    func upload(_ request: Request) async throws -> Response {
        guard let token = Transcoder.bearerToken(request) else { throw EdgeError.unauthenticated }
        let session = try await sessions.resolve(token: token)
        // Per user: two people behind one address each have their own.
        guard let rateLimiter else { return try await accept(request, session: session) }
        return try await rateLimiter.guarded("POST \(Self.uploadPath) user:\(session.userID)", requests: 100, perSeconds: 60) {
            try await accept(request, session: session)
        }
    }

    private func accept(_ request: Request, session: SessionResolver.Resolved) async throws -> Response {
        if let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/json") {
            throw EdgeError(status: .unsupportedMediaType, code: "UNSUPPORTED_MEDIA_TYPE", message: "send the body as application/json")
        }
        let bytes = try await Transcoder.readBody(request, limit: 16 << 10)
        let body: JSONValue
        do {
            body = try JSONParser.parse(bytes)
        } catch {
            throw EdgeError.malformedJSON("\(error.message) at byte \(error.offset)")
        }
        guard case .object(let members) = body else { throw EdgeError.invalidField("body", "must be a JSON object") }
        var fields: [String: JSONValue] = [:]
        for (key, value) in members {
            guard ["fileName", "mimeType", "fileSize", "category"].contains(key) else { throw EdgeError.unknownField(key) }
            fields[key] = value
        }
        guard case .string(let fileName)? = fields["fileName"], !fileName.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw EdgeError.invalidField("fileName", "is required")
        }
        guard fileName.count <= 255 else { throw EdgeError.invalidField("fileName", "must be at most 255 characters") }
        guard case .string(let category)? = fields["category"], UploadRules.categories.contains(category) else {
            throw EdgeError.invalidField("category", "must be one of \(UploadRules.categories.joined(separator: ", "))")
        }
        guard case .string(let rawType)? = fields["mimeType"] else { throw EdgeError.invalidField("mimeType", "is required") }
        let mimeType = rawType.lowercased()
        guard let ext = UploadRules.fileExtension(category: category, mimeType: mimeType) else {
            let allowed = (category == "audio" ? UploadRules.audioTypes : UploadRules.imageTypes).keys.sorted().joined(separator: ", ")
            throw EdgeError.invalidField("mimeType", "must be one of \(allowed) for \(category)")
        }
        guard case .number(let sizeText)? = fields["fileSize"], let size = Int(sizeText), size > 0 else {
            throw EdgeError.invalidField("fileSize", "must be a whole number of bytes, more than 0")
        }
        let limit = UploadRules.maxBytes(category: category)
        guard size <= limit else { throw EdgeError.invalidField("fileSize", "must be at most \(limit >> 20) MB for \(category)") }

        let key = "\(UploadRules.folder(category))/\(SecureRandom.hex(16)).\(ext)"
        let now = Date()
        let expires = now.addingTimeInterval(uploadLifetime)
        // Recorded with the link's expiry: until then a file may land under the key, so a deleted
        // account's record (and with it the file's removal) waits that long.
        _ = try await upstreams.catalog.call(CatalogMethods.RecordUpload.self, .with {
            $0.userID = session.userID
            $0.file = .with {
                $0.storageKey = key
                $0.fileName = fileName
                $0.mimeType = mimeType
                $0.fileSize = Int64(size)
                $0.category = category
                $0.linkExpiresAt = .init(date: expires)
            }
        }, metadata: try upstreams.asEdge())
        let uploadURL = try store.uploadURL(key: key, contentType: mimeType, size: size, expires: expires)
        let publicURL = try publicBaseURL.map { "\($0)/\(key)" } ?? store.downloadURL(key: key, expires: now.addingTimeInterval(downloadLifetime)).absoluteString
        return Transcoder.json(.object([
            ("uploadUrl", .string(uploadURL.absoluteString)),
            ("storageKey", .string(key)),
            ("publicUrl", .string(publicURL)),
            ("expiresAt", .string(ISO8601DateFormatter().string(from: expires))),
            ("method", .string("PUT")),
            ("contentType", .string(mimeType)),
        ]), status: 200)
    }

    /// PUT to a signed local upload URL: the bytes, at most the size it was signed for.
    func put(_ request: Request, _ context: some RequestContext) async throws -> Response {
        guard let local else { throw Self.notFound }
        let key = try Self.key(context)
        let query = request.uri.queryParameters
        let type = query["type"].map(String.init) ?? ""
        let sizeText = query["size"].map(String.init) ?? ""
        guard local.verify(method: "PUT", key: key, expires: query["expires"].map(String.init) ?? "",
                           signature: query["signature"].map(String.init) ?? "", extra: [("type", type), ("size", sizeText)]),
              let size = Int(sizeText)
        else { throw Self.badSignature }
        if let given = request.headers[.contentType], given.lowercased() != type {
            throw EdgeError(status: .badRequest, code: "CONTENT_TYPE_MISMATCH", message: "this link takes \(type), not \(given)", field: "Content-Type")
        }
        let bytes = try await Transcoder.readBody(request, limit: size)
        guard !bytes.isEmpty else { throw EdgeError.invalidField("body", "is empty; send the file's bytes") }
        // A link outlives nothing it was issued for: once its account is deleted it is refused.
        // The account's record stays until the link expires, so a file that lands in a race with
        // the deletion is removed by the purge that completes it.
        do {
            _ = try await upstreams.catalog.call(CatalogMethods.GetUpload.self, .with { $0.storageKey = key }, metadata: try upstreams.asEdge())
        } catch let error as RPCError where error.code == .notFound {
            throw Self.linkRevoked
        }
        try await local.write(key: key, bytes: bytes)
        return Transcoder.json(.object([("storageKey", .string(key)), ("size", .number(String(bytes.count)))]), status: 200)
    }

    /// GET from a signed local download URL.
    func get(_ request: Request, _ context: some RequestContext) async throws -> Response {
        guard let local else { throw Self.notFound }
        let key = try Self.key(context)
        let query = request.uri.queryParameters
        // Generated results are capability links (`GeneratedFiles`): their key is the secret.
        guard key.hasPrefix(GeneratedFiles.folder + "/")
            || local.verify(method: "GET", key: key, expires: query["expires"].map(String.init) ?? "",
                            signature: query["signature"].map(String.init) ?? "", extra: [])
        else { throw Self.badSignature }
        guard let bytes = try await local.read(key: key, limit: UploadRules.maxAudioBytes) else { throw Self.notFound }
        let ext = String(key.split(separator: ".").last ?? "")
        return Response(
            status: .ok,
            headers: [.contentType: UploadRules.contentType(forExtension: ext), .cacheControl: "private, max-age=300"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    private static func key(_ context: some RequestContext) throws -> String {
        let key = "\(context.parameters.get("folder") ?? "")/\(context.parameters.get("name") ?? "")"
        guard StorageKey.isValid(key) else { throw notFound }
        return key
    }

    static let notFound = EdgeError(status: .notFound, code: "NOT_FOUND", message: "file not found")
    static let linkRevoked = EdgeError(status: .forbidden, code: "UPLOAD_LINK_REVOKED",
                                       message: "this upload link no longer works: the account it was issued for was deleted")
    static let badSignature = EdgeError(status: .forbidden, code: "SIGNATURE_INVALID", message: "this file link is invalid or has expired")
}
