import AtelierProtos
import Foundation
import ServiceKit

typealias Job = Atelier_Generation_V1_Job
typealias JobEvent = Atelier_Generation_V1_JobEvent

/// The SQL of `jobs` and `job_events`. Every change of a job's state is one transaction that
/// updates the row, numbers the change (`last_sequence`) and appends its event, so the events
/// are exactly the changes, in order.
enum JobStore {
    static let kinds = ["image", "photo", "variant", "video", "avatar", "story", "narration", "illustrations"]
    static let statuses = ["queued", "running", "succeeded", "failed", "canceled"]

    static let columns: [MessageColumn<Job>] = [
        .text("id", \.id), .text("kind", \.kind), .text("status", \.status), .text("character_id", \.characterID),
        .map("input", \.input), .int32("progress", \.progress), .int32("attempts", \.attempts),
        .int32("max_attempts", \.maxAttempts), .int("cost", \.cost), .text("asset", \.asset), .text("charge", \.charge),
        .list("media_ids", \.mediaIds), .list("result_urls", \.resultUrls), .text("error_code", \.errorCode),
        .text("error_message", \.errorMessage), .text("priority", \.priority), .time("created_at", \.createdAt),
        .time("updated_at", \.updatedAt), .optionalTime("started_at", \.startedAt, present: \.hasStartedAt),
        .optionalTime("finished_at", \.finishedAt, present: \.hasFinishedAt), .text("story_id", \.storyID),
    ]
    static let table = OwnedTable<Job>("jobs", columns: columns.names(), noun: "job", read: columns.read)
    static let eventColumns: SQL = "job_id, sequence, type, status, progress, message, created_at"

    /// What the worker needs beside the job itself.
    struct Claimed: Sendable {
        let job: Job
        let userID: String
        let plan: String
        /// The plan's place in the queue (`plan_rank`): a job it chains queues at the same.
        let rank: Int64
        let holdIDs: [String]
        let cancelRequested: Bool
    }

    /// A new queued job and its first event, with the holds already placed for it.
    static func insert(_ tx: any SQLExecutor, _ job: Job, user: String, plan: String, rank: Int64, holds: [String],
                       key: String?, now: Date) async throws {
        try await table.insert(tx, try columns.values(of: job) + [
            ("user_id", .text(user)), ("plan", .text(plan)), ("plan_rank", .int(rank)), ("hold_ids", .text(holds.joined(separator: ","))),
            ("run_after", .time(now)), ("last_sequence", .int(1)), ("idempotency_key", .optional(key)),
            ("priority_shift", .int(priorityShift(job.input["priority"]))),
        ])
        try await appendEvent(tx, job: job.id, sequence: 1, type: "queued", status: "queued", progress: 0,
                              message: "waiting for a worker", now: now)
    }

    /// A job asked for with priority high goes 30 s ahead of its plan's other jobs, low 30 s behind:
    /// within the plan, since a plan's rank is worth `generation.aging-seconds` (60) a step.
    static func priorityShift(_ priority: String?) -> Int64 {
        switch priority {
        case "high": 30_000_000
        case "low": -30_000_000
        default: 0
        }
    }

    static func appendEvent(_ tx: any SQLExecutor, job: String, sequence: Int64, type: String, status: String, progress: Int32,
                            message: String, now: Date) async throws {
        try await tx.query("""
            INSERT INTO job_events (\(eventColumns))
            VALUES (\(job), \(sequence), \(type), \(status), \(Int64(progress)), \(message), \(now))
            """)
    }

    /// Changes a job and appends the event that says so; nil when the job is not in one of
    /// `from` (another worker or a cancel got there first) or, with `attempt`, when the job is no
    /// longer in that attempt: a worker whose lease was taken back may not move the job.
    @discardableResult
    static func change(_ tx: any SQLExecutor, job id: String, from: [String], attempt: Int32? = nil, set changes: [(SQLIdentifier, SQLValue)],
                       event type: String, message: String, now: Date) async throws -> Job? {
        let owned: SQL = attempt.map { " AND attempts = \(Int64($0))" } ?? ""
        guard let row = try await tx.first("""
            UPDATE jobs SET \(SQL.assignments(changes + [("updated_at", .time(now))])), last_sequence = last_sequence + 1
            WHERE id = \(id) AND status IN (\(list: from.map { .text($0) }))\(owned)
            RETURNING \(columns.names()), last_sequence
            """) else { return nil }
        let job = try columns.read(row)
        try await appendEvent(tx, job: id, sequence: try row.int("last_sequence"), type: type, status: job.status,
                              progress: job.progress, message: message, now: now)
        return job
    }

    /// The next runnable job, leased to the caller until `leaseUntil`: plan priority first (Pro,
    /// Starter, Free), aged by waiting time so that a job waiting `agingSeconds` per rank beats a
    /// newer one of a higher plan. PostgreSQL skips rows other workers hold; SQLite's single
    /// writer serialises the same statement.
    static func claim(_ tx: any SQLExecutor, now: Date, leaseUntil: Date, agingSeconds: Int64) async throws -> Claimed? {
        let aging = agingSeconds * 1_000_000
        let skipLocked: SQL = .dialect(postgres: " FOR UPDATE SKIP LOCKED", sqlite: "")
        guard let row = try await tx.first("""
            UPDATE jobs SET status = 'running', lease_until = \(leaseUntil), attempts = attempts + 1,
                started_at = COALESCE(started_at, \(now)), updated_at = \(now), last_sequence = last_sequence + 1
            WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND run_after <= \(now)
                        ORDER BY created_at - plan_rank * \(aging) - priority_shift, id LIMIT 1\(skipLocked))
            RETURNING \(columns.names()), user_id, plan, plan_rank, hold_ids, cancel_requested, last_sequence
            """) else { return nil }
        let job = try columns.read(row)
        try await appendEvent(tx, job: job.id, sequence: try row.int("last_sequence"), type: "running", status: "running",
                              progress: job.progress, message: "attempt \(job.attempts) of \(job.maxAttempts)", now: now)
        return try claimed(row, job: job)
    }

    static func claimed(_ row: SQLRow, job: Job) throws -> Claimed {
        Claimed(job: job, userID: try row.string("user_id"), plan: try row.string("plan"), rank: try row.int("plan_rank"),
                holdIDs: try row.string("hold_ids").split(separator: ",").map(String.init),
                cancelRequested: try row.bool("cancel_requested"))
    }

    /// Renews a running job's lease; false when the job is no longer this worker's to run. A
    /// lease that has already lapsed is not renewed: the rescuer may be taking the job back.
    static func renew(_ db: any SQLExecutor, job id: String, attempt: Int32, now: Date, leaseUntil: Date) async throws -> Bool {
        try await db.first("""
            UPDATE jobs SET lease_until = \(leaseUntil)
            WHERE id = \(id) AND status = 'running' AND attempts = \(Int64(attempt)) AND lease_until >= \(now) RETURNING id
            """) != nil
    }

    /// Whether the job is still running in this attempt: its worker still holds it.
    static func isCurrent(_ db: any SQLExecutor, job id: String, attempt: Int32) async throws -> Bool {
        try await db.first("SELECT id FROM jobs WHERE id = \(id) AND status = 'running' AND attempts = \(Int64(attempt))") != nil
    }

    static func cancelRequested(_ db: any SQLExecutor, job id: String) async throws -> Bool {
        try await db.first("SELECT cancel_requested FROM jobs WHERE id = \(id)")?.bool("cancel_requested") ?? true
    }

    /// Running jobs whose lease ran out (their worker died): back to the queue, or failed when
    /// they have used their attempts. Returns those that failed, for their holds to be released.
    static func rescue(_ db: any Database, now: Date) async throws -> [Claimed] {
        let lapsed = try await db.query("SELECT id FROM jobs WHERE status = 'running' AND lease_until < \(now) LIMIT 100")
        var failed: [Claimed] = []
        for row in lapsed {
            let id = try row.string("id")
            let lost = try await db.transaction { tx -> Claimed? in
                guard let current = try await tx.first("""
                    SELECT attempts, max_attempts FROM jobs WHERE id = \(id) AND status = 'running' AND lease_until < \(now)\(SQL.forUpdate)
                    """) else { return nil }
                if try current.int("attempts") >= current.int("max_attempts") {
                    if let job = try await change(tx, job: id, from: ["running"], set: [
                        ("status", "failed"), ("charge", "released"), ("error_code", "WORKER_LOST"), ("error_message", "the job's worker stopped and no attempts are left"),
                        ("finished_at", .time(now)), ("lease_until", .null)], event: "failed", message: "the worker stopped", now: now),
                       let row = try await tx.first("SELECT user_id, plan, plan_rank, hold_ids, cancel_requested FROM jobs WHERE id = \(id)") {
                        return try claimed(row, job: job)
                    }
                    return nil
                } else {
                    try await change(tx, job: id, from: ["running"], set: [("status", "queued"), ("lease_until", .null), ("run_after", .time(now))],
                                     event: "retrying", message: "the worker stopped; the job goes back to the queue", now: now)
                    return nil
                }
            }
            if let lost { failed.append(lost) }
        }
        return failed
    }

    static func events(_ db: any SQLExecutor, job: String, after: Int64, limit: Int) async throws -> [JobEvent] {
        try await db.query("""
            SELECT \(eventColumns) FROM job_events WHERE job_id = \(job) AND sequence > \(after) ORDER BY sequence LIMIT \(Int64(limit))
            """).map { row in
            try JobEvent.with {
                $0.jobID = try row.string("job_id")
                $0.sequence = try row.int("sequence")
                $0.type = try row.string("type")
                $0.status = try row.string("status")
                $0.progress = Int32(try row.int("progress"))
                $0.message = try row.string("message")
                $0.createdAt = .init(date: try row.date("created_at"))
            }
        }
    }

    static func isFinished(_ status: String) -> Bool { ["succeeded", "failed", "canceled"].contains(status) }
}
