import AtelierProtos
import Foundation
import GRPCCore
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization

/// The workers of this process: each claims the next runnable job with a lease, renews the lease
/// while it works, and ends the job succeeded, failed or canceled, settling or releasing its
/// holds. A rescuer returns jobs whose lease lapsed (their process died) to the queue. Every
/// effect is keyed by the job, so a job run twice is stored, attached and charged once.
final class JobRunner: Service, Sendable {
    let database: any Database
    let peers: Peers
    let providers: ProviderSet
    let results: ResultStore
    private let settings: GenerationSettings
    let logger: Logger
    /// Where the Free plan's mark is drawn on providers' pictures (`MediaJobs`).
    private let pool: BoundedWorkPool
    private let webhooks: ReplicateWebhooks
    let meter: UsageMeter
    /// Jobs submitted together, queued in one statement.
    let newJobs: CallBatcher<JobStore.NewJob, Void>
    /// Workers that look for a job together, each given one (or none) by one claim.
    private let claims: CallBatcher<Void, JobStore.Claimed?>
    /// Jobs that succeed together (their settles came back together), ended in one statement.
    private let successes: CallBatcher<JobStore.Succeeded, Void>
    /// Steps of jobs that reach them together, recorded in one statement; whether each job's
    /// cancel was asked for, or nil when it is no longer in its attempt.
    private let steps: CallBatcher<JobStore.Step, Bool?>
    /// Usage records of provider calls that return together (a job's id and its record), written
    /// in one statement that reads back whether each job's cancel was asked for.
    private let meterings: CallBatcher<(job: String, record: [SQLValue]), Bool>
    private let alerts: UsageAlerts
    private let ready = Mutex<(@Sendable () async throws -> Void)?>(nil)
    /// Workers that found nothing to claim, asleep until a submit, the poller or shutdown wakes them.
    private let idleWorkers = IdleWorkers()

    init(database: any Database, peers: Peers, providers: ProviderSet, results: ResultStore, settings: GenerationSettings,
         pool: BoundedWorkPool, webhooks: ReplicateWebhooks, costs: CostTable, logger: Logger) {
        meter = UsageMeter(database: database, costs: costs)
        let agingSeconds = settings.agingSeconds
        newJobs = CallBatcher(maxItems: 100) { jobs in
            try await JobStore.insert(database, jobs, agingSeconds: agingSeconds, now: Date.databaseNow)
            return jobs.map { _ in () }
        }
        let lease = settings.lease.seconds
        claims = CallBatcher(maxItems: settings.workers) { workers in
            let now = Date.databaseNow
            let claimed: [JobStore.Claimed?] = try await JobStore.claim(database, count: workers.count, now: now, leaseUntil: now.addingTimeInterval(lease))
            return claimed + Array(repeating: nil, count: workers.count - claimed.count)
        }
        successes = CallBatcher(maxItems: 100) { jobs in
            try await JobStore.succeed(database, jobs, now: Date.databaseNow)
            return jobs.map { _ in () }
        }
        steps = CallBatcher(maxItems: 100) { steps in try await JobStore.progress(database, steps, now: Date.databaseNow) }
        meterings = CallBatcher(maxItems: 100) { calls in
            try await JobStore.cancelRequested(database, jobs: calls.map(\.job), after: UsageMeter.insert(calls.map(\.record)))
        }
        alerts = UsageAlerts(database: database, peers: peers, logger: logger)
        self.database = database
        self.peers = peers
        self.providers = providers
        self.results = results
        self.settings = settings
        self.pool = pool
        self.webhooks = webhooks
        self.logger = logger
    }

    /// What the workers wait for before their first claim (the server listening, its tables made).
    func startsAfter(_ ready: @escaping @Sendable () async throws -> Void) {
        self.ready.withLock { $0 = ready }
    }

    /// A job was queued: one idle worker looks now instead of at the next poll.
    func wake() {
        idleWorkers.wakeOne(polled: false)
    }

    func run() async throws {
        if let ready = ready.withLock({ $0 }) { try await ready() }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<self.settings.workers { group.addTask { await self.work() } }
                group.addTask { await self.pollLoop() }
                group.addTask { await self.rescueLoop() }
                await group.waitForAll()
            }
        }
        // Whoever still sleeps is released so the group can end.
        idleWorkers.wakeAll()
    }

    private func work() async {
        var polled = false
        while !Task.isCancelled {
            do {
                if let claimed = try await claim() {
                    // A job no submit of this process announced (queued by another, or due again
                    // after a backoff): there may be more, so one more idle worker looks too.
                    if polled { idleWorkers.wakeOne(polled: true) }
                    polled = false
                    await execute(claimed)
                    continue
                }
            } catch {
                logger.warning("claiming a job failed", metadata: ["error": "\(error)"])
            }
            polled = await idleWorkers.sleep()
        }
    }

    /// The next runnable job for this worker, claimed with those of the workers looking at the
    /// same time; alone when that claim failed.
    private func claim() async throws -> JobStore.Claimed? {
        try await claims.reply(()) {
            let now = Date.databaseNow
            return try await JobStore.claim(database, now: now, leaseUntil: now.addingTimeInterval(settings.lease.seconds)).first
        }
    }

    /// Every poll interval one idle worker looks for jobs no submit of this process announced:
    /// one poller for the pool, so idle workers cost the database two claims a second, not two
    /// each.
    private func pollLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: settings.poll)
            idleWorkers.wakeOne(polled: true)
        }
    }

    private func rescueLoop() async {
        while !Task.isCancelled {
            do {
                for failed in try await JobStore.rescue(database, now: Date.databaseNow) {
                    await release(failed)
                    logger.warning("a job failed: its worker stopped and no attempts are left", metadata: ["job": "\(failed.job.id)"])
                }
                try await webhooks.sweep(now: Date.databaseNow)
            } catch {
                logger.warning("rescuing lapsed jobs failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: settings.lease / 2)
        }
    }

    // MARK: running one job

    private func execute(_ claimed: JobStore.Claimed) async {
        let job = claimed.job
        if case .wait(let pause) = providers.gate(forKind: job.kind).breaker.admit() {
            await wait(claimed, pause: pause)
            return
        }
        do {
            let outcome = try await withLeaseRenewed(claimed) { try await self.perform(claimed) }
            if !outcome.confirmed {
                // A worker whose lease was taken back leaves the job to the one that holds it now.
                guard let canceled = try await JobStore.cancelRequested(database, job: job.id, attempt: job.attempts) else { return }
                if canceled { throw JobCanceled() }
            }
            try await peers.settle(user: claimed.userID, holds: claimed.holdIDs)
            let succeeded = JobStore.Succeeded(job: job.id, attempt: job.attempts, charge: claimed.holdIDs.isEmpty ? "none" : "settled",
                                               mediaIDs: outcome.media.map(\.id), resultURLs: outcome.media.map(\.url),
                                               storyID: outcome.storyID ?? job.storyID, message: outcome.message)
            try await successes.reply(succeeded) { try await JobStore.succeed(database, [succeeded], now: Date.databaseNow) }
            // Spending from a monthly allowance may cross one of its alert thresholds.
            let allowances = Set(job.asset.split(separator: "+").map(String.init)).subtracting(["credits", ""])
            if !claimed.holdIDs.isEmpty, !allowances.isEmpty { await alerts.check(user: claimed.userID, assets: allowances) }
        } catch is JobCanceled {
            await finishCanceled(claimed)
        } catch {
            await failed(claimed, error: error)
        }
    }

    /// Runs `body` while a task renews the job's lease every third of it.
    private func withLeaseRenewed<T: Sendable>(_ claimed: JobStore.Claimed, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let (database, lease, id, attempt) = (self.database, settings.lease, claimed.job.id, claimed.job.attempts)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                while true {
                    try await Task.sleep(for: lease / 3)
                    let now = Date.databaseNow
                    _ = try? await JobStore.renew(database, job: id, attempt: attempt, now: now, leaseUntil: now.addingTimeInterval(lease.seconds))
                }
            }
            group.addTask { try await body() }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
            }
            throw CancellationError()
        }
    }

    func checkCanceled(_ job: String) async throws {
        if try await JobStore.cancelRequested(database, job: job) { throw JobCanceled() }
    }

    /// Records a provider call the job made (`meter`) and asks whether a cancel came while the
    /// provider worked, in one round trip on PostgreSQL, with the calls of other jobs that return
    /// meanwhile. Unlike `meter`, a failure is the attempt's.
    func meterThenCheckCanceled(_ claimed: JobStore.Claimed, step: String, _ call: MeteredCall) async throws {
        let metering = (job: claimed.job.id, record: meter.row(call, user: claimed.userID, job: claimed.job.id, attempt: claimed.job.attempts, step: step))
        let canceled = try await meterings.reply(metering) {
            try await JobStore.cancelRequested(database, jobs: [metering.job], after: UsageMeter.insert([metering.record]))[0]
        }
        if canceled { throw JobCanceled() }
    }

    /// What a finished job made: gallery media, or a story.
    struct Outcome: Sendable {
        var media: [Atelier_Catalog_V1_Media] = []
        var storyID: String?
        let message: String
        /// The job's last step, just before it returned, found it still this attempt's and not
        /// canceled: the worker need not ask again before settling.
        var confirmed = false
    }

    private func perform(_ claimed: JobStore.Claimed) async throws -> Outcome {
        let stories = StoryJobs(runner: self, peers: peers, providers: providers, results: results)
        switch claimed.job.kind {
        case "story": return try await stories.write(claimed)
        case "narration": return try await stories.narrate(claimed)
        case "avatar": return try await HeroJobs(runner: self, peers: peers, providers: providers, results: results).avatar(claimed)
        case "illustrations": return try await IllustrationJobs(runner: self, peers: peers, providers: providers, results: results).draw(claimed)
        default: return try await MediaJobs(runner: self, peers: peers, providers: providers, results: results, pool: pool).make(claimed)
        }
    }

    /// Records a provider call the job made (`UsageMeter`); a failure to record is logged, not
    /// the job's: what was made is kept.
    func meter(_ claimed: JobStore.Claimed, step: String, _ call: MeteredCall) async {
        do {
            try await meter.record(call, user: claimed.userID, job: claimed.job.id, attempt: claimed.job.attempts, step: step)
        } catch {
            logger.warning("a provider call could not be metered", metadata: ["job": "\(claimed.job.id)", "step": "\(step)", "error": "\(error)"])
        }
    }

    /// Records a step of a running job, with the steps other jobs reach meanwhile; whether the job
    /// is still this attempt's and not canceled.
    @discardableResult
    func progress(_ claimed: JobStore.Claimed, _ percent: Int, _ message: String) async throws -> Bool {
        let step = JobStore.Step(job: claimed.job.id, attempt: claimed.job.attempts, percent: percent, message: message)
        return try await steps.reply(step) { try await JobStore.progress(database, [step], now: Date.databaseNow)[0] } == false
    }

    /// Queues a job a running one chains (a story's narration and illustrations), once: a second
    /// attempt of the chaining job finds it there under its id. `holds` were placed for it, keyed
    /// by its id, so a second attempt places none more.
    func chain(_ job: Job, after claimed: JobStore.Claimed, holds: [String] = []) async throws {
        let now = Date.databaseNow
        do {
            try await JobStore.insert(database, job, user: claimed.userID, plan: claimed.plan, rank: claimed.rank, holds: holds,
                                      key: "\(claimed.job.id):\(job.kind)", agingSeconds: settings.agingSeconds, now: now)
        } catch let error as DatabaseError {
            guard case .uniqueViolation = error else { throw error }
        }
        wake()
    }

    /// What a provider is told of the job it works for: its attempt, and whether a cancel was
    /// asked for since it started.
    func control(_ claimed: JobStore.Claimed) -> JobControl {
        let (database, id) = (self.database, claimed.job.id)
        return JobControl(job: id, attempt: Int(claimed.job.attempts)) { (try? await JobStore.cancelRequested(database, job: id)) ?? false }
    }

    /// The breaker is open: the job goes back to the queue until it may try, without spending
    /// the attempt it was claimed for.
    private func wait(_ claimed: JobStore.Claimed, pause: Duration) async {
        let job = claimed.job
        let now = Date.databaseNow
        do {
            try await JobStore.change(database, job: job.id, from: ["running"], attempt: job.attempts, set: [
                ("status", "queued"), ("lease_until", .null), ("attempts", .int(Int64(job.attempts - 1))),
                ("run_after", .time(now.addingTimeInterval(pause.seconds))),
            ], event: "waiting", message: "the provider is unavailable; waiting \(Int(pause.seconds.rounded(.up))) s before trying", now: now)
        } catch {
            logger.warning("a job could not be put back to wait for its provider", metadata: ["job": "\(job.id)", "error": "\(error)"])
        }
    }

    private func failed(_ claimed: JobStore.Claimed, error: any Error) async {
        let job = claimed.job
        let (code, message, retryable) = Self.describe(error)
        let now = Date.databaseNow
        do {
            if retryable && job.attempts < job.maxAttempts {
                // Exponential backoff with up to half again of jitter, and never sooner than the provider asked.
                let base = settings.backoff.seconds * pow(2, Double(job.attempts - 1))
                let wait = max(base + Double.random(in: 0...(base / 2)), (error as? ProviderError)?.retryAfter?.seconds ?? 0)
                try await JobStore.change(database, job: job.id, from: ["running"], attempt: job.attempts, set: [
                    ("status", "queued"), ("lease_until", .null), ("run_after", .time(now.addingTimeInterval(wait))),
                    ("error_code", .text(code)), ("error_message", .text(message)),
                ], event: "retrying", message: "attempt \(job.attempts) failed (\(message)); retrying", now: now)
                logger.info("a job attempt failed; retrying", metadata: ["job": "\(job.id)", "error": "\(code)"])
                return
            }
            // The credits go back before the job reads as failed, so whoever sees it ended sees them;
            // a worker whose lease was taken back leaves them to the one that holds the job now.
            guard try await JobStore.isCurrent(database, job: job.id, attempt: job.attempts) else { return }
            await release(claimed)
            try await JobStore.change(database, job: job.id, from: ["running"], attempt: job.attempts, set: [
                ("status", "failed"), ("lease_until", .null), ("charge", claimed.holdIDs.isEmpty ? "none" : "released"), ("finished_at", .time(now)),
                ("error_code", .text(code)), ("error_message", .text(message)),
            ], event: "failed", message: message, now: now)
            logger.warning("a job failed", metadata: ["job": "\(job.id)", "error": "\(code)"])
        } catch {
            // The lease lapses and the rescuer takes the job back.
            logger.warning("a job's failure could not be recorded", metadata: ["job": "\(job.id)", "error": "\(error)"])
        }
    }

    private func finishCanceled(_ claimed: JobStore.Claimed) async {
        let now = Date.databaseNow
        guard (try? await JobStore.isCurrent(database, job: claimed.job.id, attempt: claimed.job.attempts)) == true else { return }
        await release(claimed)
        do {
            try await JobStore.change(database, job: claimed.job.id, from: ["running"], attempt: claimed.job.attempts, set: [
                ("status", "canceled"), ("lease_until", .null), ("charge", claimed.holdIDs.isEmpty ? "none" : "released"), ("finished_at", .time(now)),
            ], event: "canceled", message: "canceled while running", now: now)
        } catch {
            logger.warning("a job's cancel could not be recorded", metadata: ["job": "\(claimed.job.id)", "error": "\(error)"])
        }
    }

    private func release(_ claimed: JobStore.Claimed) async {
        await peers.release(claimed.holdIDs, user: claimed.userID, logger: logger)
    }

    static func describe(_ error: any Error) -> (code: String, message: String, retryable: Bool) {
        switch error {
        case let error as ProviderError: (error.code, error.message, error.retryable)
        case let error as SourceUnavailable: ("SOURCE_IMAGE_MISSING", error.description, false)
        case let error as ServiceError: (error.reason.isEmpty ? "\(error.code)" : error.reason, error.message,
                                         [.unavailable, .deadlineExceeded, .resourceExhausted, .aborted].contains(error.code))
        case let error as RPCError: (ServiceError(received: error).reason.isEmpty ? "UPSTREAM_FAILED" : ServiceError(received: error).reason,
                                     error.message, [.unavailable, .deadlineExceeded, .resourceExhausted, .aborted].contains(error.code))
        default: ("GENERATION_FAILED", "the generation failed", true)
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
