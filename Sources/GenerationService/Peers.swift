import AtelierProtos
import Foundation
import GRPCCore
import Logging
import ServiceKit

typealias CommerceMethods = Atelier_Commerce_V1_CommerceService.Method
typealias CatalogMethods = Atelier_Catalog_V1_CatalogService.Method
typealias AuthMethods = Atelier_Auth_V1_AuthService.Method

/// The services a job crosses: commerce for its holds, catalog for its character and results,
/// auth for the messages it sends a user (usage alerts).
/// Calls about money and results carry generation's own credential (`generation.credential`,
/// a service principal with the role "generation"), since a job outlives the user's principal.
/// Reading what a submit starts from forwards the user's principal, so catalog decides what the
/// user may see; the character a submit draws is read with those of other submits under
/// generation's credential, naming the user whose principal generation verified, and catalog
/// reads it as that user would (`characterReads`).
struct Peers: Sendable {
    let commerce: LazyServiceClient
    let catalog: LazyServiceClient
    let auth: LazyServiceClient
    let credential: String?
    /// Holds of submits that arrive together, and settles of jobs that finish together, each
    /// sent as one call (`CallBatcher`).
    let holdBatches: CallBatcher<Atelier_Commerce_V1_HoldRequest, Atelier_Commerce_V1_HoldInfo>
    let settleBatches: CallBatcher<Atelier_Commerce_V1_SettleRequest, Atelier_Commerce_V1_MovementResponse>
    /// Characters of submits that arrive together, read in one call (`GetCharacters`).
    let characterReads: CallBatcher<Atelier_Catalog_V1_UserCharacter, Atelier_Catalog_V1_Character>
    /// Results of jobs that finish together, attached in one call (`AttachMediaBatch`).
    let attachments: CallBatcher<Atelier_Catalog_V1_AttachMediaRequest, Atelier_Catalog_V1_Media>

    init(commerce: LazyServiceClient, catalog: LazyServiceClient, auth: LazyServiceClient, credential: String?) {
        self.commerce = commerce
        self.catalog = catalog
        self.auth = auth
        self.credential = credential
        holdBatches = CallBatcher(maxItems: 100) { holds in
            try await commerce.call(CommerceMethods.PlaceHolds.self, .with { $0.holds = holds },
                                    metadata: try Self.asGeneration(credential)).held.map(\.hold)
        }
        settleBatches = CallBatcher(maxItems: 100) { settles in
            try await commerce.call(CommerceMethods.SettleHolds.self, .with { $0.settles = settles },
                                    metadata: try Self.asGeneration(credential)).settled
        }
        characterReads = CallBatcher(maxItems: 100) { wanted in
            try await catalog.call(CatalogMethods.GetCharacters.self, .with { $0.characters = wanted },
                                   metadata: try Self.asGeneration(credential)).characters
        }
        attachments = CallBatcher(maxItems: 100) { requests in
            try await catalog.call(CatalogMethods.AttachMediaBatch.self, .with { $0.attachments = requests },
                                   metadata: try Self.asGeneration(credential)).media
        }
    }

    func asGeneration() throws -> Metadata {
        try Self.asGeneration(credential)
    }

    static func asGeneration(_ credential: String?) throws -> Metadata {
        guard let credential else {
            throw ServiceError(.failedPrecondition, reason: "GENERATION_NOT_CONFIGURED",
                               "generation has no service credential (generation.credential); ask the operator")
        }
        var metadata = Metadata()
        metadata.addString(credential, forKey: PrincipalInterceptor.metadataKey)
        RequestID.propagate(into: &metadata)
        return metadata
    }

    static func asUser(_ token: String) -> Metadata {
        var metadata = Metadata()
        metadata.addString(token, forKey: PrincipalInterceptor.metadataKey)
        RequestID.propagate(into: &metadata)
        return metadata
    }

    /// One hold per unit of the operation, keyed by the job, so a retried submit holds once.
    func hold(user: String, operation: String, job: String, unit: Int) async throws -> Atelier_Commerce_V1_HoldInfo {
        try await commerce.call(CommerceMethods.Hold.self, Self.holdRequest(user: user, operation: operation, job: job, unit: unit),
                                metadata: try asGeneration()).hold
    }

    static func holdRequest(user: String, operation: String, job: String, unit: Int) -> Atelier_Commerce_V1_HoldRequest {
        .with {
            $0.userID = user
            $0.operation = operation
            $0.jobID = job
            $0.ttlSeconds = 86_400
            $0.idempotencyKey = "\(job):hold:\(unit)"
        }
    }

    /// A new job's holds, one per unit, placed with those of other submits arriving meanwhile;
    /// when that batch fails, one by one, and a hold refused releases those placed before it.
    func holds(user: String, operation: String, job: String, units: Int, logger: Logger) async throws -> [Atelier_Commerce_V1_HoldInfo] {
        let requests = (0..<units).map { Self.holdRequest(user: user, operation: operation, job: job, unit: $0 + 1) }
        if let placed = await holdBatches.together(requests) { return placed }
        var holds: [Atelier_Commerce_V1_HoldInfo] = []
        do {
            for unit in 0..<units { holds.append(try await hold(user: user, operation: operation, job: job, unit: unit + 1)) }
        } catch {
            await release(holds.map(\.id), user: user, logger: logger)
            throw error
        }
        return holds
    }

    static func settleRequest(user: String, hold: String) -> Atelier_Commerce_V1_SettleRequest {
        .with {
            $0.userID = user
            $0.holdID = hold
            $0.idempotencyKey = "settle:\(hold)"
        }
    }

    /// A finished job's holds, settled with those of other jobs finishing meanwhile; when that
    /// batch fails, one by one.
    func settle(user: String, holds: [String]) async throws {
        guard await settleBatches.together(holds.map { Self.settleRequest(user: user, hold: $0) }) == nil else { return }
        for hold in holds { try await settle(user: user, hold: hold) }
    }

    func settle(user: String, hold: String) async throws {
        _ = try await commerce.call(CommerceMethods.Settle.self, Self.settleRequest(user: user, hold: hold), metadata: try asGeneration())
    }

    func release(user: String, hold: String) async throws {
        _ = try await commerce.call(CommerceMethods.Release.self, .with {
            $0.userID = user
            $0.holdID = hold
            $0.idempotencyKey = "release:\(hold)"
        }, metadata: try asGeneration())
    }

    /// Releases each hold, logging those that fail (a hold expires by itself after its ttl, and
    /// the sweeper returns its credits then). Returns how many were released.
    @discardableResult
    func release(_ holds: [String], user: String, logger: Logger) async -> Int {
        var released = 0
        for hold in holds {
            do {
                try await release(user: user, hold: hold)
                released += 1
            } catch {
                logger.warning("a hold could not be released; it expires by itself", metadata: ["hold": "\(hold)", "error": "\(error)"])
            }
        }
        return released
    }

    /// The user's character, read with those of other submits arriving meanwhile. One the batch
    /// did not find, or a batch that failed, is asked for alone with the user's principal, so the
    /// user hears catalog's own answer (not found, an id that cannot be one).
    func character(_ id: String, user: String, userToken: String) async throws -> Atelier_Catalog_V1_Character {
        let wanted = Atelier_Catalog_V1_UserCharacter.with { $0.userID = user; $0.characterID = id }
        if let found = await characterReads.together([wanted])?.first, !found.id.isEmpty { return found }
        return try await character(id, userToken: userToken)
    }

    func character(_ id: String, userToken: String) async throws -> Atelier_Catalog_V1_Character {
        try await catalog.call(CatalogMethods.GetCharacter.self, .with { $0.characterID = id }, metadata: Self.asUser(userToken)).character
    }

    func media(_ id: String, userToken: String) async throws -> Atelier_Catalog_V1_Media {
        try await catalog.call(CatalogMethods.GetMedia.self, .with { $0.id = id }, metadata: Self.asUser(userToken)).media
    }

    /// A result attached with those of other jobs finishing meanwhile; alone when that batch failed
    /// (its key returns the media if the batch made it before failing).
    func attach(_ request: Atelier_Catalog_V1_AttachMediaRequest) async throws -> Atelier_Catalog_V1_Media {
        try await attachments.reply(request) {
            try await catalog.call(CatalogMethods.AttachMedia.self, request, metadata: try asGeneration()).media
        }
    }

    func theme(_ id: String, userToken: String) async throws -> Atelier_Catalog_V1_Theme {
        try await catalog.call(CatalogMethods.GetTheme.self, .with { $0.themeID = id }, metadata: Self.asUser(userToken)).theme
    }

    /// The user's own upload: another user's file, or one of a deleted account, is NotFound.
    func upload(_ key: String, user: String) async throws -> Atelier_Catalog_V1_FileUpload {
        try await catalog.call(CatalogMethods.GetUpload.self, .with { $0.storageKey = key; $0.userID = user }, metadata: try asGeneration()).file
    }

    func addVariant(_ request: Atelier_Catalog_V1_AddVariantRequest) async throws -> Atelier_Catalog_V1_Variant {
        try await catalog.call(CatalogMethods.AddVariant.self, request, metadata: try asGeneration()).variant
    }

    func hero(_ id: String, userToken: String) async throws -> Atelier_Catalog_V1_Hero {
        try await catalog.call(CatalogMethods.GetHero.self, .with { $0.heroID = id }, metadata: Self.asUser(userToken)).hero
    }

    func customEvent(_ id: String, userToken: String) async throws -> Atelier_Catalog_V1_CustomStoryEvent {
        try await catalog.call(CatalogMethods.GetCustomEvent.self, .with { $0.eventID = id }, metadata: Self.asUser(userToken)).event
    }

    func story(_ id: String, userToken: String) async throws -> Atelier_Catalog_V1_Story {
        try await catalog.call(CatalogMethods.GetStory.self, .with { $0.storyID = id; $0.includeIllustrations = false },
                               metadata: Self.asUser(userToken)).story
    }

    /// The story a job wrote, saved once under the job's key.
    func createStory(_ request: Atelier_Catalog_V1_CreateStoryRequest) async throws -> Atelier_Catalog_V1_Story {
        try await catalog.call(CatalogMethods.CreateStory.self, request, metadata: try asGeneration()).story
    }

    func setStoryAudio(_ request: Atelier_Catalog_V1_SetStoryAudioRequest) async throws -> Atelier_Catalog_V1_Story {
        try await catalog.call(CatalogMethods.SetStoryAudio.self, request, metadata: try asGeneration()).story
    }

    func updateStory(_ request: Atelier_Catalog_V1_UpdateStoryRequest) async throws -> Atelier_Catalog_V1_Story {
        try await catalog.call(CatalogMethods.UpdateStory.self, request, metadata: try asGeneration()).story
    }

    func setHeroAvatar(_ request: Atelier_Catalog_V1_SetHeroAvatarRequest) async throws -> Atelier_Catalog_V1_Hero {
        try await catalog.call(CatalogMethods.SetHeroAvatar.self, request, metadata: try asGeneration()).hero
    }

    /// An illustration a job drew, saved once under its key.
    func addIllustration(_ request: Atelier_Catalog_V1_AddIllustrationRequest) async throws -> Atelier_Catalog_V1_Illustration {
        try await catalog.call(CatalogMethods.AddIllustration.self, request, metadata: try asGeneration()).illustration
    }

    func illustrations(story: String, userToken: String) async throws -> Atelier_Catalog_V1_ListIllustrationsResponse {
        try await catalog.call(CatalogMethods.ListIllustrations.self, .with { $0.storyID = story }, metadata: Self.asUser(userToken))
    }

    /// The user's allowances this period, as commerce's ledger has them.
    func usage(user: String, period: Atelier_Commerce_V1_UsagePeriod = .currentMonth) async throws -> Atelier_Commerce_V1_GetUsageStatsResponse {
        try await commerce.call(CommerceMethods.GetUsageStats.self, .with { $0.userID = user; $0.period = period }, metadata: try asGeneration())
    }

    func notify(user: String, kind: String, subject: String, body: String, key: String) async throws -> Atelier_Auth_V1_NotifyUserResponse {
        try await auth.call(AuthMethods.NotifyUser.self, .with {
            $0.userID = user
            $0.kind = kind
            $0.subject = subject
            $0.body = body
            $0.key = key
        }, metadata: try asGeneration())
    }
}
