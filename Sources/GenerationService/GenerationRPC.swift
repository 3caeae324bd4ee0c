import AtelierProtos
import Foundation
import GRPCCore
import Logging
import ServiceKit

typealias GenerationService = Atelier_Generation_V1_GenerationService

/// The generation service's RPCs. It implements the full (non-simple) service protocol because
/// a submit forwards the caller's own principal to catalog, so catalog alone decides which
/// characters and media the user may generate from.
struct GenerationRPC: GenerationService.ServiceProtocol {
    let database: any Database
    let peers: Peers
    let settings: GenerationSettings
    let runner: JobRunner
    let webhooks: ReplicateWebhooks
    let logger: Logger

    func generateImage(request: ServerRequest<Atelier_Generation_V1_GenerateImageRequest>,
                       context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_JobResponse> {
        let input = request.message
        let (user, _, principal) = try Caller.user()
        let count = input.count == 0 ? 1 : Int(input.count)
        guard (1...4).contains(count) else { throw ServiceError.invalid("count", "count must be 1 to 4") }
        let characterID = try Self.required(input.characterID, field: "characterId")
        var fields: [String: String] = ["count": String(count)]
        let filter = Self.filter(principal)
        for (name, value) in [("pose", input.pose), ("clothing", input.clothing), ("scene", input.scene), ("style", input.style)] {
            guard value.count <= 500 else { throw ServiceError.invalid(name, "\(name) must be at most 500 characters") }
            try filter.check(value, field: name, language: "en")
            if !value.isEmpty { fields[name] = filter.soften(value, language: "en") }
        }
        let key = try Self.idempotencyKey(request.metadata)
        if let key, let existing = try await find(user: user, key: key) { return ServerResponse(message: .with { $0.job = existing }) }

        let character = try await peers.character(characterID, user: user, userToken: try Self.token(request.metadata))
        try filter.check(character.prompt, field: "character", language: "en")
        let plan = Self.plan(principal)
        fields["prompt"] = filter.soften(Self.prompt(character: character, fields: fields), language: "en")
        fields.merge(Self.pictureFields(plan: plan, character: character, seed: input.hasSeed ? input.seed : nil)) { $1 }
        let job = try await submit(kind: "image", user: user, plan: plan, characterID: character.id, input: fields,
                                   operation: "image", units: count, key: key)
        return ServerResponse(message: .with { $0.job = job })
    }

    func generateVideo(request: ServerRequest<Atelier_Generation_V1_GenerateVideoRequest>,
                       context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_JobResponse> {
        let input = request.message
        let (user, _, principal) = try Caller.user()
        let plan = Self.plan(principal)
        guard plan.entitlements.videoGeneration else {
            throw ServiceError.permissionDenied("video generation needs the Starter or Pro plan", reason: "PLAN_REQUIRED")
        }
        let duration = input.durationSeconds == 0 ? 4 : Int(input.durationSeconds)
        guard duration == 4 || duration == 6 else { throw ServiceError.invalid("durationSeconds", "durationSeconds must be 4 or 6") }
        let mediaID = try Self.required(input.mediaID, field: "mediaId")
        let key = try Self.idempotencyKey(request.metadata)
        if let key, let existing = try await find(user: user, key: key) { return ServerResponse(message: .with { $0.job = existing }) }

        let token = try Self.token(request.metadata)
        let media = try await peers.media(mediaID, userToken: token)
        guard media.type == "image" else { throw ServiceError.invalid("mediaId", "a video is made from an image, and this media is a video") }
        if !input.characterID.isEmpty, input.characterID != media.characterID {
            throw ServiceError.invalid("characterId", "the image belongs to another character")
        }
        let character = try await peers.character(media.characterID, user: user, userToken: token)
        var fields: [String: String] = ["durationSeconds": String(duration), "mediaId": media.id, "sourceUrl": media.url]
        fields["prompt"] = Self.prompt(character: character, fields: [:])
        fields["seed"] = media.generationParams["seed"] ?? String(Int64.random(in: 0...Int64(Int32.max)))
        fields.merge(Self.colours(of: character)) { $1 }
        let job = try await submit(kind: "video", user: user, plan: plan, characterID: character.id, input: fields,
                                   operation: "video_\(duration)s", units: 1, key: key)
        return ServerResponse(message: .with { $0.job = job })
    }

    func generateBaseImage(request: ServerRequest<Atelier_Generation_V1_GenerateBaseImageRequest>,
                           context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_JobResponse> {
        let input = request.message
        let (user, _, principal) = try Caller.user()
        let characterID = try Self.required(input.characterID, field: "characterId")
        let mode = input.mode.isEmpty ? "text" : input.mode
        guard mode == "text" || mode == "photo" else { throw ServiceError.invalid("mode", "mode must be text or photo") }
        guard input.prompt.count <= 1000 else { throw ServiceError.invalid("prompt", "prompt must be at most 1000 characters") }
        guard input.style.count <= 500 else { throw ServiceError.invalid("style", "style must be at most 500 characters") }
        let filter = Self.filter(principal)
        try filter.check(input.prompt, field: "prompt", language: "en")
        try filter.check(input.style, field: "style", language: "en")
        var fields: [String: String] = ["count": "1", "mode": mode, "setAsCharacterImage": "true"]
        if mode == "photo" {
            guard !input.photoKey.isEmpty else { throw ServiceError.invalid("photoKey", "photo mode needs photoKey, the storage key of an uploaded photo") }
            guard StorageKey.isValid(input.photoKey) else { throw ServiceError.invalid("photoKey", "photoKey is not a storage key") }
        } else if !input.photoKey.isEmpty {
            throw ServiceError.invalid("photoKey", "photoKey is for photo mode")
        }
        let key = try Self.idempotencyKey(request.metadata)
        if let key, let existing = try await find(user: user, key: key) { return ServerResponse(message: .with { $0.job = existing }) }

        let character = try await peers.character(characterID, user: user, userToken: try Self.token(request.metadata))
        if mode == "photo" {
            let upload = try await peers.upload(input.photoKey, user: user)
            guard Self.photoTypes.contains(upload.mimeType) else {
                throw ServiceError.invalid("photoKey", "the photo must be a PNG, JPEG or WebP picture, not \(upload.mimeType)")
            }
            fields["photoKey"] = upload.storageKey
        }
        try filter.check(character.prompt, field: "character", language: "en")
        let plan = Self.plan(principal)
        var description = [character.prompt.isEmpty ? character.name : character.prompt]
        if !input.prompt.isEmpty { description.append(input.prompt) }
        if !input.style.isEmpty { description.append("style: \(input.style)") }
        description = description.map { filter.soften($0, language: "en") }
        fields["prompt"] = mode == "photo"
            ? "Draw the person in this photo as this character, keeping their face recognisable: \(description.joined(separator: "; "))"
            : description.joined(separator: "; ")
        fields.merge(Self.pictureFields(plan: plan, character: character, seed: input.hasSeed ? input.seed : nil)) { $1 }
        let job = try await submit(kind: mode == "photo" ? "photo" : "image", user: user, plan: plan, characterID: character.id, input: fields,
                                   operation: "image", units: 1, key: key)
        return ServerResponse(message: .with { $0.job = job })
    }

    static let photoTypes: Set<String> = ["image/png", "image/jpeg", "image/webp"]

    func generateVariant(request: ServerRequest<Atelier_Generation_V1_GenerateVariantRequest>,
                         context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_JobResponse> {
        let input = request.message
        let (user, _, principal) = try Caller.user()
        let themeID = try Self.required(input.themeID, field: "themeId")
        var changes: [String] = []
        let filter = Self.filter(principal)
        for (name, value) in [("edit", input.edit), ("pose", input.pose), ("action", input.action), ("scene", input.scene)] {
            guard value.count <= 500 else { throw ServiceError.invalid(name, "\(name) must be at most 500 characters") }
            try filter.check(value, field: name, language: "en")
            let softened = filter.soften(value, language: "en")
            if !value.isEmpty { changes.append(name == "edit" ? softened : "\(name): \(softened)") }
        }
        guard !changes.isEmpty else { throw ServiceError.invalid("edit", "say what to change: edit, pose, action or scene") }
        let key = try Self.idempotencyKey(request.metadata)
        if let key, let existing = try await find(user: user, key: key) { return ServerResponse(message: .with { $0.job = existing }) }

        let token = try Self.token(request.metadata)
        let theme = try await peers.theme(themeID, userToken: token)
        let character = try await peers.character(theme.characterID, user: user, userToken: token)
        let source: String
        if input.mediaID.isEmpty {
            guard character.hasImageURL, !character.imageURL.isEmpty else {
                throw ServiceError.invalid("mediaId", "the character has no picture yet: make its base image first, or name one of its images")
            }
            source = character.imageURL
        } else {
            let media = try await peers.media(input.mediaID, userToken: token)
            guard media.type == "image" else { throw ServiceError.invalid("mediaId", "an edit changes an image, and this media is a video") }
            guard media.characterID == character.id else { throw ServiceError.invalid("mediaId", "the image belongs to another character") }
            source = media.url
        }
        let plan = Self.plan(principal)
        let edit = changes.joined(separator: "; ")
        var fields: [String: String] = ["count": "1", "themeId": theme.id, "edit": edit, "sourceUrl": source]
        fields["prompt"] = "Change this picture of the character as asked, keeping who they are: \(edit). The character: "
            + (character.prompt.isEmpty ? character.name : character.prompt)
        fields.merge(Self.pictureFields(plan: plan, character: character, seed: input.hasSeed ? input.seed : nil)) { $1 }
        let job = try await submit(kind: "variant", user: user, plan: plan, characterID: character.id, input: fields,
                                   operation: "image", units: 1, key: key)
        return ServerResponse(message: .with { $0.job = job })
    }

    func handleReplicateWebhook(request: ServerRequest<Atelier_Generation_V1_ReplicateWebhookRequest>,
                                context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_ReplicateWebhookResponse> {
        _ = try Caller.service()
        let input = request.message
        let outcome = try await webhooks.receive(payload: Array(input.payload), id: input.webhookID, timestamp: input.webhookTimestamp,
                                                 signature: input.webhookSignature)
        return ServerResponse(message: .with { $0.received = true; $0.predictionID = outcome.predictionID; $0.duplicate = outcome.duplicate })
    }

    func exportUser(request: ServerRequest<Atelier_Generation_V1_ExportUserRequest>,
                    context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_ExportUserResponse> {
        _ = try Caller.service()
        let user = try Self.required(request.message.userID, field: "userId")
        let token = request.message.pageToken
        guard token.isEmpty || Int(token).map({ $0 >= 0 }) == true else { throw ServiceError.invalid("pageToken", "pageToken is not one this call gave") }
        let offset = Int(token) ?? 0, size = 200
        let jobs = try await database.query("""
            \(JobStore.table.select) WHERE user_id = \(user) ORDER BY created_at, id LIMIT \(size + 1) OFFSET \(offset)
            """).map(JobStore.table.read)
        return ServerResponse(message: .with {
            $0.jobs = Array(jobs.prefix(size))
            $0.nextPageToken = jobs.count > size ? String(offset + size) : ""
        })
    }

    func getGenerationStatus(request: ServerRequest<Atelier_Generation_V1_GetJobRequest>,
                             context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_JobResponse> {
        try await getJob(request: request, context: context)
    }

    func listJobs(request: ServerRequest<Atelier_Generation_V1_ListJobsRequest>,
                  context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_ListJobsResponse> {
        let input = request.message
        let user = try Caller.user().id
        var conditions: [SQL] = []
        if !input.kind.isEmpty {
            guard JobStore.kinds.contains(input.kind) else { throw ServiceError.invalid("kind", "kind must be one of \(JobStore.kinds.joined(separator: ", "))") }
            conditions.append("kind = \(input.kind)")
        }
        if !input.status.isEmpty {
            guard JobStore.statuses.contains(input.status) else {
                throw ServiceError.invalid("status", "status must be one of \(JobStore.statuses.joined(separator: ", "))")
            }
            conditions.append("status = \(input.status)")
        }
        let found = try await JobStore.table.page(database, owner: user, where: conditions, order: ListOrder("created_at", descending: true),
                                                  page: try Page(limit: input.limit, offset: input.offset))
        return ServerResponse(message: .with { $0.jobs = found.items; $0.pagination = found.pagination })
    }

    func getJob(request: ServerRequest<Atelier_Generation_V1_GetJobRequest>,
                context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_JobResponse> {
        let user = try Caller.user().id
        let id = try Self.required(request.message.jobID, field: "jobId")
        let job = try await JobStore.table.get(database, id: id, owner: user)
        return ServerResponse(message: .with { $0.job = job })
    }

    func cancelJob(request: ServerRequest<Atelier_Generation_V1_CancelJobRequest>,
                   context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_JobResponse> {
        let user = try Caller.user().id
        let id = try Self.required(request.message.jobID, field: "jobId")
        let job = try await runner.cancel(job: id, user: user)
        return ServerResponse(message: .with { $0.job = job })
    }

    func watchJob(request: ServerRequest<Atelier_Generation_V1_WatchJobRequest>,
                  context: ServerContext) async throws -> StreamingServerResponse<Atelier_Generation_V1_JobEvent> {
        let input = request.message
        let user = try Self.subject(input.userID)
        let id = try Self.required(input.jobID, field: "jobId")
        _ = try await JobStore.table.get(database, id: id, owner: user)
        let database = self.database
        let poll = settings.watchInterval
        let after = input.afterSequence
        return StreamingServerResponse { writer in
            var last = after
            while true {
                let events = try await JobStore.events(database, job: id, after: last, limit: 100)
                for event in events {
                    try await writer.write(event)
                    last = event.sequence
                }
                if let final = events.last, JobStore.isFinished(final.status) { break }
                if events.isEmpty, let job = try await JobStore.table.find(database, id: id, owner: user), JobStore.isFinished(job.status),
                   try await JobStore.events(database, job: id, after: last, limit: 1).isEmpty {
                    break
                }
                try await Task.sleep(for: poll)
            }
            return [:]
        }
    }

    func listJobEvents(request: ServerRequest<Atelier_Generation_V1_ListJobEventsRequest>,
                       context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_ListJobEventsResponse> {
        let input = request.message
        let user = try Self.subject(input.userID)
        let id = try Self.required(input.jobID, field: "jobId")
        let job = try await JobStore.table.get(database, id: id, owner: user)
        let limit = input.limit == 0 ? 100 : Int(min(max(input.limit, 1), 500))
        let events = try await JobStore.events(database, job: id, after: max(0, input.afterSequence), limit: limit)
        let finished = JobStore.isFinished(job.status) && events.count < limit
        return ServerResponse(message: .with { $0.events = events; $0.finished = finished })
    }

    func purgeUser(request: ServerRequest<Atelier_Generation_V1_PurgeUserRequest>,
                   context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_PurgeUserResponse> {
        _ = try Caller.service()
        let user = try Self.required(request.message.userID, field: "userId")
        let (deleted, released) = try await runner.purge(user: user)
        return ServerResponse(message: .with { $0.deleted = deleted; $0.released = released })
    }

    // MARK: submitting

    /// Money first: every unit's hold is placed before the job exists; a hold the balance cannot
    /// cover releases those already placed and refuses the request, so nothing is queued.
    /// `units` may be 0: a re-narration is part of its story's price.
    func submit(kind: String, user: String, plan: PlanPriority, characterID: String, input: [String: String],
                operation: String, units: Int, key: String?, storyID: String = "") async throws -> Job {
        let id = SecureRandom.id(prefix: "job")
        let placed = try await peers.holds(user: user, operation: operation, job: id, units: units, logger: logger)
        let now = Date.databaseNow
        var job = Job()
        job.id = id
        job.kind = kind
        job.status = "queued"
        job.characterID = characterID
        job.input = input
        job.maxAttempts = Int32(settings.maxAttempts)
        job.cost = placed.reduce(0) { $0 + $1.amount }
        job.asset = Set(placed.map(\.asset)).sorted().joined(separator: "+")
        job.charge = placed.isEmpty ? "none" : "held"
        job.priority = plan.name
        job.storyID = storyID
        job.createdAt = .init(date: now)
        job.updatedAt = job.createdAt
        let draft = job
        do {
            // With the jobs of other submits arriving meanwhile; when that batch fails, on its own.
            let new = JobStore.NewJob(job: draft, user: user, plan: plan.name, rank: Int64(plan.rank), holds: placed.map(\.id), key: key)
            try await runner.newJobs.reply(new) { try await JobStore.insert(database, [new], agingSeconds: settings.agingSeconds, now: now) }
        } catch {
            // A submit with the same key won the race, or the insert failed: these holds go back.
            await peers.release(placed.map(\.id), user: user, logger: logger)
            if let refused = error as? DatabaseError, case .uniqueViolation = refused, let key, let existing = try await find(user: user, key: key) { return existing }
            throw error
        }
        runner.wake()
        logger.info("job queued", metadata: ["job": "\(id)", "kind": "\(kind)", "user": "\(user)", "cost": "\(job.cost)"])
        return job
    }

    func find(user: String, key: String) async throws -> Job? {
        try await database.first("\(JobStore.table.select) WHERE user_id = \(user) AND idempotency_key = \(key)").map(JobStore.table.read)
    }

    // MARK: request parts

    struct PlanPriority {
        let name: String
        let rank: Int
        let entitlements: Entitlements
    }

    static func plan(_ principal: Principal) -> PlanPriority {
        let entitlements = principal.entitlements
        let name = entitlements.plan.isEmpty ? (principal.plan.isEmpty ? "free" : principal.plan) : entitlements.plan
        let rank = Int(entitlements.queuePriority) > 0 ? Int(entitlements.queuePriority) : (name == "pro" ? 2 : name == "starter" ? 1 : 0)
        return PlanPriority(name: name, rank: rank, entitlements: entitlements)
    }

    /// What every picture job carries: its seed, the plan's steps and mark, the character's colours.
    static func pictureFields(plan: PlanPriority, character: Atelier_Catalog_V1_Character, seed: Int64?) -> [String: String] {
        var fields = colours(of: character)
        fields["seed"] = String(seed ?? Int64.random(in: 0...Int64(Int32.max)))
        fields["steps"] = plan.entitlements.quality == "full" || plan.rank > 0 ? "35" : "20"
        fields["watermark"] = plan.entitlements.watermark ? "true" : "false"
        return fields
    }

    /// The character's colours the local provider paints with, where it names them.
    static func colours(of character: Atelier_Catalog_V1_Character) -> [String: String] {
        let named = [("skinTone", character.skinTone), ("hairColor", character.hairColor), ("eyeColor", character.eyeColor),
                     ("characterClothing", character.clothing)]
        return Dictionary(uniqueKeysWithValues: named.filter { !$0.1.isEmpty })
    }

    /// The character's prompt and what the request adds to it.
    static func prompt(character: Atelier_Catalog_V1_Character, fields: [String: String]) -> String {
        var parts = [character.prompt.isEmpty ? character.name : character.prompt]
        for name in ["pose", "clothing", "scene", "style"] { if let value = fields[name] { parts.append("\(name): \(value)") } }
        return parts.joined(separator: "; ")
    }

    static func required(_ value: String, field: String) throws -> String {
        guard !value.isEmpty else { throw ServiceError.invalid(field, "\(field) is required") }
        guard value.count <= 100 else { throw ServiceError.invalid(field, "\(field) must be at most 100 characters") }
        return value
    }

    static func token(_ metadata: Metadata) throws -> String {
        guard let token = metadata[stringValues: PrincipalInterceptor.metadataKey].first(where: { _ in true }) else {
            throw ServiceError.unauthenticated("this call needs a signed-in user")
        }
        return token
    }

    static let idempotencyMetadataKey = "idempotency-key"

    static func idempotencyKey(_ metadata: Metadata) throws -> String? {
        guard let key = metadata[stringValues: idempotencyMetadataKey].first(where: { _ in true }), !key.isEmpty else { return nil }
        guard key.count <= 200 else { throw ServiceError.invalid("Idempotency-Key", "Idempotency-Key must be at most 200 characters") }
        return key
    }

    /// The user a call is about: a user asks about themselves, a service names the user.
    static func subject(_ userID: String) throws -> String {
        if let principal = Caller.principal, principal.kind == .user { return principal.subject }
        _ = try Caller.service()
        return try required(userID, field: "userId")
    }
}
