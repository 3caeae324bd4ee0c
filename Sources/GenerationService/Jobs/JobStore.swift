import AtelierProtos
import Foundation
import ServiceKit

typealias Job = Atelier_Generation_V1_Job
typealias JobEvent = Atelier_Generation_V1_JobEvent

/// The SQL of `jobs` and `job_events`. Every change of a job's state is atomic: it updates the
/// row, numbers the change (`last_sequence`) and appends its event, so the events are exactly the
/// changes, in order. On PostgreSQL a change is one statement whose CTE writes the event, so it
/// needs no BEGIN and COMMIT of its own (a job made eight round trips fewer); SQLite, which has no
/// writing CTEs, runs the two statements in one transaction (`SQLExecutor.atomically`).
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
    static func insert(_ db: any SQLExecutor, _ job: Job, user: String, plan: String, rank: Int64, holds: [String],
                       key: String?, agingSeconds: Int64, now: Date) async throws {
        try await insert(db, [NewJob(job: job, user: user, plan: plan, rank: rank, holds: holds, key: key)], agingSeconds: agingSeconds, now: now)
    }

    /// A job to queue: the job, whose, at which place, with the holds placed for it and the
    /// submit's idempotency key.
    struct NewJob: Sendable {
        let job: Job
        let user: String
        let plan: String
        let rank: Int64
        let holds: [String]
        let key: String?
    }

    /// New queued jobs and their first events, all or none: on PostgreSQL one statement for all of
    /// them (submits that arrive together, `CallBatcher`), on SQLite one insert each in one
    /// transaction.
    static func insert(_ db: any SQLExecutor, _ jobs: [NewJob], agingSeconds: Int64, now: Date) async throws {
        let rows = try jobs.map { new in
            let shift = priorityShift(new.job.input["priority"])
            return try columns.values(of: new.job) + [
                ("user_id", .text(new.user)), ("plan", .text(new.plan)), ("plan_rank", .int(new.rank)),
                ("hold_ids", .text(new.holds.joined(separator: ","))), ("run_after", .time(now)), ("last_sequence", .int(1)),
                ("idempotency_key", .optional(new.key)), ("priority_shift", .int(shift)),
                ("queue_at", .int(queuePlace(created: new.job.hasCreatedAt ? new.job.createdAt.date : now, rank: new.rank, shift: shift, agingSeconds: agingSeconds))),
            ] as [(SQLIdentifier, SQLValue)]
        }
        guard let names = rows.first?.map(\.0) else { return }
        try await db.atomically { db in
            if db.dialect == .postgres {
                _ = try await withEvent(db, "INSERT INTO jobs (\(names)) VALUES \(SQL.rows(rows.map { $0.map(\.1) })) RETURNING id, last_sequence, status, progress",
                                        type: "queued", message: "\("waiting for a worker")", now: now)
                return
            }
            for values in rows {
                _ = try await withEvent(db, "INSERT INTO jobs (\(names)) VALUES (\(list: values.map(\.1))) RETURNING id, last_sequence, status, progress",
                                        type: "queued", message: "\("waiting for a worker")", now: now)
            }
        }
    }

    /// A job's place in the queue, in microseconds like `created_at`: a plan's rank is worth
    /// `agingSeconds` of waiting (so a Free job waiting two minutes beats a new Pro one), and a
    /// job's own priority shifts it within its plan. Kept in `queue_at` from the job's insert, so
    /// a change of `generation.aging-seconds` places the jobs queued after it.
    static func queuePlace(created: Date, rank: Int64, shift: Int64, agingSeconds: Int64) -> Int64 {
        created.microsecondsSince1970 - rank * agingSeconds * 1_000_000 - shift
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

    /// Changes a job and appends the event that says so; nil when the job is not in one of
    /// `from` (another worker or a cancel got there first) or, with `attempt`, when the job is no
    /// longer in that attempt: a worker whose lease was taken back may not move the job.
    @discardableResult
    static func change(_ db: any SQLExecutor, job id: String, from: [String], attempt: Int32? = nil, set changes: [(SQLIdentifier, SQLValue)],
                       event type: String, message: String, now: Date) async throws -> Job? {
        let owned: SQL = attempt.map { " AND attempts = \(Int64($0))" } ?? ""
        let update: SQL = """
            UPDATE jobs SET \(SQL.assignments(changes + [("updated_at", .time(now))])), last_sequence = last_sequence + 1
            WHERE id = \(id) AND status IN (\(list: from.map { .text($0) }))\(owned)
            RETURNING \(columns.names()), last_sequence
            """
        return try await withEvent(db, update, type: type, message: "\(message)", now: now).map(columns.read)
    }

    /// `change` (an INSERT or UPDATE of one job, RETURNING its id, status, progress and
    /// last_sequence) and the event that says so, atomically: on PostgreSQL one statement, the
    /// event written from the changed row by a CTE; on SQLite the change, then the event from the
    /// row as it now stands, in one transaction. The row the change returned, or nil when it
    /// changed none. `message` may be an expression of the job's columns.
    private static func withEvent(_ db: any SQLExecutor, _ change: SQL, type: String, message: SQL, now: Date) async throws -> SQLRow? {
        try await withEvents(db, change, type: type, message: message, now: now).first
    }

    /// `withEvent` for a change of several jobs: an event for each row it changed.
    private static func withEvents(_ db: any SQLExecutor, _ change: SQL, type: String, message: SQL, now: Date) async throws -> [SQLRow] {
        @Sendable func event(from source: SQL) -> SQL {
            "INSERT INTO job_events (\(eventColumns)) SELECT id, last_sequence, \(type), status, progress, \(message), \(now) FROM \(source)"
        }
        return try await db.atomically { db in
            if db.dialect == .postgres {
                return try await db.query("WITH changed AS (\(change)), event AS (\(event(from: "changed"))) SELECT * FROM changed")
            }
            let rows = try await db.query(change)
            guard !rows.isEmpty else { return [] }
            try await db.query(event(from: "jobs WHERE id IN (\(list: try rows.map { .text(try $0.string("id")) }))"))
            return rows
        }
    }

    /// A step of a running job to record: its attempt, how far it is and what it did.
    struct Step: Sendable {
        let job: String
        let attempt: Int32
        let percent: Int
        let message: String
    }

    /// Records steps of running jobs, each with its event: on PostgreSQL one statement for all of
    /// them (jobs that reach a step together, `CallBatcher`), on SQLite one change each in one
    /// transaction. For each, whether a cancel was asked for since its job started, or nil when
    /// the job is no longer in that attempt.
    static func progress(_ db: any SQLExecutor, _ steps: [Step], now: Date) async throws -> [Bool?] {
        guard db.dialect == .postgres else {
            return try await db.atomically { db in
                var answers: [Bool?] = []
                for step in steps {
                    answers.append(try await withEvent(db, """
                        UPDATE jobs SET progress = \(Int64(step.percent)), updated_at = \(now), last_sequence = last_sequence + 1
                        WHERE id = \(step.job) AND status = 'running' AND attempts = \(Int64(step.attempt))
                        RETURNING id, status, progress, last_sequence, cancel_requested
                        """, type: "progress", message: "\(step.message)", now: now)?.bool("cancel_requested"))
                }
                return answers
            }
        }
        let rows = try await withEvents(db, """
            UPDATE jobs SET progress = step.percent, updated_at = \(now), last_sequence = jobs.last_sequence + 1
            FROM (VALUES \(SQL.rows(steps.map { [.text($0.job), .int(Int64($0.attempt)), .int(Int64($0.percent)), .text($0.message)] })))
                AS step (id, attempts, percent, message)
            WHERE jobs.id = step.id AND jobs.status = 'running' AND jobs.attempts = step.attempts
            RETURNING jobs.id, jobs.status, jobs.progress, jobs.last_sequence, jobs.cancel_requested, step.message
            """, type: "progress", message: "message", now: now)
        let canceled = try cancelFlags(rows)
        return steps.map { canceled[$0.job] }
    }

    /// Up to `count` runnable jobs, leased to the caller until `leaseUntil`, in one statement: the
    /// first by their place in the queue (`queuePlace`: plan priority first, Pro, Starter, Free,
    /// aged by waiting time). Workers that look together claim together (`CallBatcher`).
    /// PostgreSQL skips rows other workers hold; SQLite's single writer serialises the same statement.
    static func claim(_ db: any SQLExecutor, count: Int = 1, now: Date, leaseUntil: Date) async throws -> [Claimed] {
        let skipLocked: SQL = .dialect(postgres: " FOR UPDATE SKIP LOCKED", sqlite: "")
        let update: SQL = """
            UPDATE jobs SET status = 'running', lease_until = \(leaseUntil), attempts = attempts + 1,
                started_at = COALESCE(started_at, \(now)), updated_at = \(now), last_sequence = last_sequence + 1
            WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND run_after <= \(now) ORDER BY queue_at, id LIMIT \(count)\(skipLocked))
            RETURNING \(columns.names()), user_id, plan, plan_rank, hold_ids, cancel_requested, last_sequence
            """
        return try await withEvents(db, update, type: "running", message: "'attempt ' || attempts || ' of ' || max_attempts", now: now)
            .map { try claimed($0, job: try columns.read($0)) }
    }

    /// A job that did what it was asked, for its end to be written.
    struct Succeeded: Sendable {
        let job: String
        /// The attempt that did it: a worker whose lease was taken back may not end the job.
        let attempt: Int32
        let charge: String
        let mediaIDs: [String]
        let resultURLs: [String]
        let storyID: String
        let message: String
    }

    /// Ends jobs succeeded, each with its event, all or none: on PostgreSQL one statement for all
    /// of them (jobs whose settles came back together, `CallBatcher`), on SQLite one change each
    /// in one transaction. A job no longer running in its attempt is left as it is.
    static func succeed(_ db: any SQLExecutor, _ jobs: [Succeeded], now: Date) async throws {
        guard !jobs.isEmpty else { return }
        try await db.atomically { db in
            guard db.dialect == .postgres else {
                for job in jobs {
                    try await change(db, job: job.job, from: ["running"], attempt: job.attempt, set: [
                        ("status", "succeeded"), ("progress", .int(100)), ("charge", .text(job.charge)), ("lease_until", .null),
                        ("media_ids", JSONColumn.encode(job.mediaIDs)), ("result_urls", JSONColumn.encode(job.resultURLs)),
                        ("story_id", .text(job.storyID)), ("finished_at", .time(now)),
                    ], event: "succeeded", message: job.message, now: now)
                }
                return
            }
            let ended = SQL.rows(jobs.map { job in
                [.text(job.job), .int(Int64(job.attempt)), .text(job.charge), JSONColumn.encode(job.mediaIDs), JSONColumn.encode(job.resultURLs),
                 .text(job.storyID), .text(job.message)]
            })
            _ = try await withEvents(db, """
                UPDATE jobs SET status = 'succeeded', progress = 100, charge = ended.charge, lease_until = NULL,
                    media_ids = ended.media_ids, result_urls = ended.result_urls, story_id = ended.story_id,
                    finished_at = \(now), updated_at = \(now), last_sequence = jobs.last_sequence + 1
                FROM (VALUES \(ended)) AS ended (id, attempts, charge, media_ids, result_urls, story_id, message)
                WHERE jobs.id = ended.id AND jobs.status = 'running' AND jobs.attempts = ended.attempts
                RETURNING jobs.id, jobs.last_sequence, jobs.status, jobs.progress, ended.message
                """, type: "succeeded", message: "message", now: now)
        }
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

    /// Whether a cancel was asked for a job running in this attempt; nil when the job is no longer
    /// this attempt's (its worker's lease was taken back, or it ended).
    static func cancelRequested(_ db: any SQLExecutor, job id: String, attempt: Int32) async throws -> Bool? {
        try await db.first("SELECT cancel_requested FROM jobs WHERE id = \(id) AND status = 'running' AND attempts = \(Int64(attempt))")?
            .bool("cancel_requested")
    }

    /// Whether the job is still running in this attempt: its worker still holds it.
    static func isCurrent(_ db: any SQLExecutor, job id: String, attempt: Int32) async throws -> Bool {
        try await cancelRequested(db, job: id, attempt: attempt) != nil
    }

    static func cancelRequested(_ db: any SQLExecutor, job id: String) async throws -> Bool {
        try await db.first("SELECT cancel_requested FROM jobs WHERE id = \(id)")?.bool("cancel_requested") ?? true
    }

    /// `write` (an INSERT of the jobs' own), then whether a cancel was asked for each of `jobs`
    /// (a job that is gone counts as canceled): on PostgreSQL in one round trip, the write a CTE
    /// of the read.
    static func cancelRequested(_ db: any SQLExecutor, jobs ids: [String], after write: SQL) async throws -> [Bool] {
        let read: SQL = "SELECT id, cancel_requested FROM jobs WHERE id IN (\(list: ids.map { .text($0) }))"
        let rows: [SQLRow]
        if db.dialect == .postgres {
            rows = try await db.query("WITH written AS (\(write)) \(read)")
        } else {
            try await db.query(write)
            rows = try await db.query(read)
        }
        let canceled = try cancelFlags(rows)
        return ids.map { canceled[$0] ?? true }
    }

    /// Each row's job id and its `cancel_requested`.
    private static func cancelFlags(_ rows: [SQLRow]) throws -> [String: Bool] {
        Dictionary(try rows.map { (try $0.string("id"), try $0.bool("cancel_requested")) }, uniquingKeysWith: { first, _ in first })
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
