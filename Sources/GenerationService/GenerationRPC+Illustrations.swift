import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// PRD 6.5's illustration routes: a job that draws a story's illustrations, and how far it has come.
extension GenerationRPC {
    func generateIllustrations(request: ServerRequest<Atelier_Generation_V1_GenerateIllustrationsRequest>,
                               context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_IllustrationJobResponse> {
        let input = request.message
        let (user, _, principal) = try Caller.user()
        let storyID = try Self.required(input.storyID, field: "storyId")
        let timestamps = input.sceneTimestamps
        let count = input.count == 0 ? (timestamps.isEmpty ? 3 : timestamps.count) : Int(input.count)
        guard (1...5).contains(count) else { throw ServiceError.invalid("count", "count must be 1 to 5") }
        if !timestamps.isEmpty {
            guard timestamps.count == count else {
                throw ServiceError.invalid("sceneTimestamps", "sceneTimestamps needs one timestamp per illustration: \(count)")
            }
            guard timestamps.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 86_400 }), zip(timestamps, timestamps.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw ServiceError.invalid("sceneTimestamps", "sceneTimestamps must be seconds into the narration (0 to 86400), ascending")
            }
        }
        let priority = input.priority.isEmpty ? "normal" : input.priority
        guard ["low", "normal", "high"].contains(priority) else { throw ServiceError.invalid("priority", "priority must be low, normal or high") }
        let key = try Self.idempotencyKey(request.metadata)
        if let key, let existing = try await find(user: user, key: key) {
            return ServerResponse(message: .with { $0.job = Self.illustrationJob(existing) })
        }
        let token = try Self.token(request.metadata)
        let story = try await peers.story(storyID, userToken: token)
        let filter = Self.filter(principal)
        try filter.check(story.title, field: "title", language: story.language)
        try filter.check(story.content, field: "content", language: story.language)
        var look: [String: String]
        if story.hasHeroID, !story.heroID.isEmpty {
            look = try IllustrationJobs.look(of: try await peers.hero(story.heroID, userToken: token), filter: filter, language: story.language)
        } else {
            // The hero was deleted: the story keeps its name.
            look = ["heroPrompt": filter.soften(story.hasHeroName ? story.heroName : "the hero", language: story.language)]
        }
        look["priority"] = priority
        let job = try await submit(kind: "illustrations", user: user, plan: Self.plan(principal), characterID: "",
                                   input: IllustrationJobs.input(story: story, count: count, timestamps: timestamps, look: look,
                                                                 filterLevel: principal.contentFilterLevel),
                                   operation: "illustration", units: count, key: key, storyID: story.id)
        return ServerResponse(message: .with { $0.job = Self.illustrationJob(job) })
    }

    func getIllustrationStatus(request: ServerRequest<Atelier_Generation_V1_GetIllustrationStatusRequest>,
                               context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_IllustrationStatus> {
        let user = try Caller.user().id
        let storyID = try Self.required(request.message.storyID, field: "storyId")
        let token = try Self.token(request.metadata)
        // Another user's story is not found, here as everywhere.
        let listed = try await peers.illustrations(story: storyID, userToken: token)
        var status = Atelier_Generation_V1_IllustrationStatus()
        guard let job = try await database.first("""
            \(JobStore.table.select) WHERE user_id = \(user) AND kind = 'illustrations' AND story_id = \(storyID)
            ORDER BY created_at DESC LIMIT 1
            """).map(JobStore.table.read) else {
            let done = listed.illustrations.filter { $0.generationStatus == "completed" }.count
            status.status = listed.illustrations.isEmpty ? "none" : "completed"
            status.progress = .with { $0.completed = Int32(done); $0.total = Int32(listed.illustrations.count); $0.percentage = done == 0 ? 0 : 100 }
            status.illustrations = listed.illustrations.map { Self.state($0) }
            return ServerResponse(message: status)
        }
        let total = Int(job.input["count"] ?? "") ?? 3
        let made = Dictionary(listed.illustrations.filter { $0.generationID.hasPrefix(job.id + ":") }.map { ($0.generationID, $0) },
                              uniquingKeysWith: { first, _ in first })
        var states: [Atelier_Generation_V1_IllustrationState] = []
        for index in 0..<total {
            if let illustration = made["\(job.id):\(index)"] {
                states.append(Self.state(illustration))
                continue
            }
            let waiting = job.status == "running" && index == made.count ? "generating" : job.status == "queued" || job.status == "running" ? "pending" : "failed"
            states.append(.with { $0.id = "\(job.id):\(index)"; $0.generationStatus = waiting })
        }
        status.jobID = job.id
        status.status = ["running": "processing", "succeeded": "completed"][job.status] ?? job.status
        status.progress = .with {
            $0.completed = Int32(made.count)
            $0.total = Int32(total)
            $0.percentage = Int32(made.count * 100 / max(total, 1))
        }
        status.illustrations = states
        if !JobStore.isFinished(job.status) {
            status.estimatedCompletionTime = .init(date: Date().addingTimeInterval(Self.illustrationSeconds * Double(total - made.count)))
        }
        return ServerResponse(message: status)
    }

    /// About how long a provider takes to draw one illustration.
    static let illustrationSeconds = 15.0

    static func state(_ illustration: Atelier_Catalog_V1_Illustration) -> Atelier_Generation_V1_IllustrationState {
        .with {
            $0.id = illustration.id
            $0.generationStatus = illustration.generationStatus
            if !illustration.imageURL.isEmpty { $0.imageURL = illustration.imageURL }
            $0.timestamp = illustration.timestamp
        }
    }

    static func illustrationJob(_ job: Job) -> Atelier_Generation_V1_IllustrationJob {
        let count = Int(job.input["count"] ?? "") ?? 3
        return .with {
            $0.id = job.id
            $0.status = job.status == "running" ? "processing" : job.status
            $0.illustrationCount = Int32(count)
            $0.errorCode = job.errorCode
            $0.errorMessage = job.errorMessage
            if !JobStore.isFinished(job.status) {
                $0.estimatedCompletionTime = .init(date: Date().addingTimeInterval(illustrationSeconds * Double(count)))
            }
        }
    }
}
