import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// A character's gallery: the images and videos generation made of it. The character keeps
/// its image and video counts in step with every attach and delete.
extension CatalogRPC {
    public func listMedia(request: Atelier_Catalog_V1_ListMediaRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_ListMediaResponse {
        let character = try await owned(CharacterStore.table, request.characterID, field: "characterId")
        var conditions: [SQL] = ["character_id = \(character.id)"]
        if !request.type.isEmpty { conditions.append("type = \(try Rules.oneOf(request.type, field: "type", allowed: MediaStore.types))") }
        let found = try await MediaStore.table.page(database, owner: try user(), where: conditions,
                                                    order: ListOrder("created_at", descending: true),
                                                    page: try Page(limit: request.limit, offset: request.offset))
        return .with { $0.media = found.items; $0.pagination = found.pagination }
    }

    public func getMedia(request: Atelier_Catalog_V1_GetMediaRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_MediaResponse {
        let media = try await owned(MediaStore.table, request.id, field: "id")
        return .with { $0.media = media }
    }

    public func deleteMedia(request: Atelier_Catalog_V1_DeleteMediaRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_SuccessResponse {
        let userID = try user()
        let id = try Rules.id(request.id, field: "id", what: "media")
        try await database.transaction { tx in try await MediaStore.delete(tx, id: id, user: userID) }
        return .with { $0.success = true }
    }

    public func attachMedia(request: Atelier_Catalog_V1_AttachMediaRequest, context: ServerContext) async throws -> Atelier_Catalog_V1_MediaResponse {
        let media = try await attach(request)
        return .with { $0.media = media }
    }

    /// Attachments of jobs that finish together, each as `attachMedia` makes it, one after
    /// another; the first that fails fails the call, and its callers attach one by one, their
    /// keys finding the ones made before it.
    public func attachMediaBatch(request: Atelier_Catalog_V1_AttachMediaBatchRequest,
                                 context: ServerContext) async throws -> Atelier_Catalog_V1_AttachMediaBatchResponse {
        try serviceBatch(request.attachments.count, of: "attachments")
        var media: [Media] = []
        for attachment in request.attachments { media.append(try await attach(attachment)) }
        return .with { $0.media = media }
    }

    private func attach(_ request: Atelier_Catalog_V1_AttachMediaRequest) async throws -> Media {
        let userID = try serviceSubject(request.userID)
        let characterID = try Rules.id(request.characterID, field: "characterId", what: "character")
        var media = Media()
        media.id = SecureRandom.id(prefix: "med")
        media.characterID = characterID
        media.type = try Rules.oneOf(request.type, field: "type", allowed: MediaStore.types)
        media.url = try Rules.url(request.url, field: "url", required: true) ?? ""
        if let thumbnail = try Rules.url(request.hasThumbnailURL ? request.thumbnailURL : nil, field: "thumbnailUrl") { media.thumbnailURL = thumbnail }
        media.generationParams = try Rules.map(request.generationParams, field: "generationParams", maxItems: 50, maxLength: 4000)
        guard request.fileSizeBytes >= 0 else { throw ServiceError.invalid("fileSizeBytes", "fileSizeBytes must be 0 or more") }
        guard (0...16384).contains(request.width), (0...16384).contains(request.height) else {
            throw ServiceError.invalid("width", "width and height must be 0 to 16384")
        }
        if request.hasDurationSeconds {
            guard request.durationSeconds >= 0, request.durationSeconds <= 3600 else {
                throw ServiceError.invalid("durationSeconds", "durationSeconds must be 0 to 3600")
            }
            media.durationSeconds = request.durationSeconds
        }
        media.fileSizeBytes = request.fileSizeBytes
        media.width = request.width
        media.height = request.height
        media.watermarked = request.watermarked
        let key = try Rules.idempotencyKey(request.idempotencyKey)
        media.createdAt = .init(date: Date.databaseNow)
        let draft = media
        let made = try await MediaStore.attach(database, draft, user: userID, key: key, asPicture: request.setAsCharacterImage)
        if made { return draft }
        // A retry gets the media the first call made (the insert waited for it to commit).
        guard let key, let first = try await MediaStore.table.created(database, owner: userID, key: key) else {
            throw ServiceError(.aborted, reason: "CONFLICT", "a call with the same idempotency key is in progress; retry")
        }
        return first
    }
}
