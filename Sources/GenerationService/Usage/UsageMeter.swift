import Foundation
import ServiceKit

/// One provider call, as the usage report counts it: the operation (story_generation,
/// scene_extraction, visual_profile, audio_synthesis, image_generation, image_edit,
/// video_generation), who served it, and what it was charged by.
struct MeteredCall: Sendable {
    let operation: String
    let provider: String
    let model: String
    /// Stories, narrations, images or videos made.
    var items = 1
    var inputTokens: Int?
    var outputTokens: Int?
    /// Characters spoken.
    var characters: Int?

    var tokens: Int? {
        inputTokens == nil && outputTokens == nil ? nil : (inputTokens ?? 0) + (outputTokens ?? 0)
    }

    /// US dollars, from the cost table: tokens and characters where the call has them, else per item.
    func cost(_ table: CostTable) -> Double {
        if let characters { return table.cost(provider: provider, model: model, unit: "characters", units: characters) }
        if inputTokens != nil || outputTokens != nil {
            return table.cost(provider: provider, model: model, unit: "input_tokens", units: inputTokens ?? 0)
                + table.cost(provider: provider, model: model, unit: "output_tokens", units: outputTokens ?? 0)
        }
        return table.cost(provider: provider, model: model, unit: operation == "video_generation" ? "videos" : "images", units: items)
    }
}

/// Records every provider call a job makes (DESIGN.md, "Cost control"), under the job's attempt
/// and the step's name: a step that records and is then run again by the same attempt (a worker
/// that lost its lease and was rescued runs a new attempt, which is a new call) counts once.
struct UsageMeter: Sendable {
    let database: any Database
    let costs: CostTable

    func record(_ call: MeteredCall, user: String, job: String, attempt: Int32, step: String) async throws {
        try await database.query(Self.insert([row(call, user: user, job: job, attempt: attempt, step: step)]))
    }

    /// The usage record of `call`: a row of `insert`.
    func row(_ call: MeteredCall, user: String, job: String, attempt: Int32, step: String) -> [SQLValue] {
        [.text("\(job):\(attempt):\(step)"), .text(user), .text(job), .text(call.operation), .text(call.provider), .text(call.model),
         .int(Int64(call.items)), .optional(call.tokens.map(Int64.init)), .optional(call.characters.map(Int64.init)),
         .int(Int64((call.cost(costs) * 1_000_000).rounded())), .time(Date.databaseNow)]
    }

    /// The statement that writes usage `records`, for a caller that sends it with a read of its own.
    static func insert(_ records: [[SQLValue]]) -> SQL {
        """
        INSERT INTO usage_records (id, user_id, job_id, operation, provider, model, items, tokens, characters, cost_micros, created_at)
        VALUES \(SQL.rows(records)) ON CONFLICT (id) DO NOTHING
        """
    }

    func purge(user: String) async throws {
        try await database.query("DELETE FROM usage_records WHERE user_id = \(user)")
        try await database.query("DELETE FROM usage_alerts WHERE user_id = \(user)")
    }
}
