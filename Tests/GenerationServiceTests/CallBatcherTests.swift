import AtelierProtos
import AtelierTestSupport
import Foundation
import Logging
@testable import GenerationService
import GRPCCore
import ServiceKit
import Testing

/// Holds of submits that arrive together and settles of jobs that finish together, against a
/// real commerce: each ends placed or settled exactly once, whether it went in a batch or one by
/// one after its batch failed.
@Suite("Holds and settles of jobs together")
struct CallBatcherTests {
    @Test("jobs finishing together are settled once each; a hold settled before or released does not fail the others",
          arguments: TestBackend.available)
    func together(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.commerce]) { stack in
            let client = LazyServiceClient(.commerce, configuration: stack.configuration, directory: nil, timeout: .seconds(10))
            let peers = Peers(commerce: client, catalog: client, auth: client, credential: stack.configuration.string("generation.credential"))
            try await stack.withClient(.commerce) { grpc in
                let commerce = Atelier_Commerce_V1_CommerceService.Client(wrapping: grpc)
                let generation = try stack.serviceMetadata(name: "generation")
                var jobs: [(user: String, holds: [String])] = []
                for user in ["u-s1", "u-s2", "u-s3"] {
                    _ = try await commerce.grant(.with {
                        $0.userID = user; $0.asset = "credits"; $0.amount = 20; $0.source = "admin"; $0.idempotencyKey = "fund"
                    }, metadata: try stack.serviceMetadata())
                    for job in 0..<3 {
                        let holds = try await (0..<(job + 1)).asyncMap { unit in
                            try await commerce.hold(.with {
                                $0.userID = user; $0.asset = "credits"; $0.amount = 1; $0.jobID = "\(user)-job-\(job)"; $0.idempotencyKey = "h\(job):\(unit)"
                            }, metadata: generation).hold.id
                        }
                        jobs.append((user, holds))
                    }
                }
                // One job's hold was settled before (a retried job), another's released (canceled meanwhile).
                let settledBefore = jobs[1], released = jobs[4]
                _ = try await commerce.settle(.with {
                    $0.userID = settledBefore.user; $0.holdID = settledBefore.holds[0]; $0.idempotencyKey = "settle:\(settledBefore.holds[0])"
                }, metadata: generation)
                _ = try await commerce.release(.with {
                    $0.userID = released.user; $0.holdID = released.holds[0]; $0.idempotencyKey = "release:\(released.holds[0])"
                }, metadata: generation)

                let outcomes = await withTaskGroup(of: (Int, CallFailure?).self) { group in
                    for (index, job) in jobs.enumerated() {
                        group.addTask { (index, await failure { try await peers.settle(user: job.user, holds: job.holds) }) }
                    }
                    return await group.reduce(into: [Int: CallFailure?]()) { $0[$1.0] = $1.1 }
                }
                for index in jobs.indices {
                    if index == 4 {
                        #expect(outcomes[index]??.reason == "HOLD_NOT_OPEN")
                    } else {
                        #expect(outcomes[index] == .some(nil), "job \(index): \(String(describing: outcomes[index]))")
                    }
                }
                let db = stack.database(.commerce)
                for (index, job) in jobs.enumerated() {
                    for hold in job.holds {
                        let row = try #require(try await db.first("SELECT status FROM holds WHERE id = \(hold)"))
                        // The job with a released hold stops there, as a job settling its holds one by one did: its
                        // other hold stays held, and the job fails and releases it.
                        let expected = index != 4 ? "settled" : hold == job.holds[0] ? "released" : "held"
                        #expect(try row.string("status") == expected, "job \(index) hold \(hold)")
                        let settles = try await db.first("SELECT COUNT(*) AS n FROM ledger_entries WHERE hold_id = \(hold) AND kind = 'settle'")?.int("n")
                        #expect(settles == (expected == "settled" ? 1 : 0))
                    }
                }
            }
        }
    }
    @Test("submits arriving together hold once each; one the balance cannot cover is refused alone", arguments: TestBackend.available)
    func holdsTogether(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.commerce]) { stack in
            let client = LazyServiceClient(.commerce, configuration: stack.configuration, directory: nil, timeout: .seconds(10))
            let peers = Peers(commerce: client, catalog: client, auth: client, credential: stack.configuration.string("generation.credential"))
            try await stack.withClient(.commerce) { grpc in
                let commerce = Atelier_Commerce_V1_CommerceService.Client(wrapping: grpc)
                for (user, credits) in [("u-p1", 20), ("u-p2", 20), ("u-poor", 0)] where credits > 0 {
                    _ = try await commerce.grant(.with {
                        $0.userID = user; $0.asset = "credits"; $0.amount = Int64(credits); $0.source = "admin"; $0.idempotencyKey = "fund"
                    }, metadata: try stack.serviceMetadata())
                }
                // Videos (5 credits each, from credits alone): u-poor has only the signup's 3.
                let submits = [("u-p1", "job-1", 1), ("u-p2", "job-2", 2), ("u-poor", "job-3", 1), ("u-p1", "job-4", 2), ("u-p2", "job-5", 1)]
                let outcomes = await withTaskGroup(of: (String, [Atelier_Commerce_V1_HoldInfo]?, CallFailure?).self) { group in
                    for (user, job, units) in submits {
                        group.addTask {
                            var held: [Atelier_Commerce_V1_HoldInfo]?
                            let refused = await failure {
                                held = try await peers.holds(user: user, operation: "video_4s", job: job, units: units, logger: Logger(label: "test"))
                            }
                            return (job, held, refused)
                        }
                    }
                    return await group.reduce(into: [String: ([Atelier_Commerce_V1_HoldInfo]?, CallFailure?)]()) { $0[$1.0] = ($1.1, $1.2) }
                }
                for (user, job, units) in submits {
                    let (held, refused) = outcomes[job] ?? (nil, nil)
                    if user == "u-poor" {
                        #expect(refused?.reason == "INSUFFICIENT_CREDITS", "\(job): \(String(describing: refused))")
                    } else {
                        #expect(refused == nil, "\(job): \(String(describing: refused))")
                        #expect(held?.count == units && held?.allSatisfy { $0.jobID == job && $0.amount == 5 && $0.status == "held" } == true)
                    }
                }
                let db = stack.database(.commerce)
                for (user, held) in [("u-p1", Int64(15)), ("u-p2", 15), ("u-poor", 0)] {
                    let wallet = try await commerce.getWallet(.with { $0.userID = user }, metadata: try stack.serviceMetadata())
                    #expect(wallet.balances.first { $0.asset == "credits" }?.held ?? 0 == held, "\(user)")
                    let holds = try await db.first("SELECT COUNT(*) AS n FROM holds WHERE user_id = \(user)")?.int("n")
                    #expect(holds == held / 5)
                }
            }
        }
    }
    @Test("jobs submitted together are queued in one insert, each with its first event; a key used before fails them all",
          arguments: TestBackend.available)
    func queuedTogether(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.generation], overrides: ["generation.workers": "1", "generation.poll-ms": "60000"]) { stack in
            let db = stack.database(.generation)
            let now = Date.databaseNow
            func new(_ id: String, key: String?) -> JobStore.NewJob {
                var job = Job()
                job.id = id
                job.kind = "image"
                job.status = "queued"
                job.characterID = "character_1"
                job.input = ["count": "1"]
                job.maxAttempts = 3
                job.asset = "credits"
                job.charge = "held"
                job.priority = "free"
                job.createdAt = .init(date: now)
                job.updatedAt = job.createdAt
                return JobStore.NewJob(job: job, user: "user_q", plan: "free", rank: 0, holds: ["hold_\(id)"], key: key)
            }
            // Runnable an hour from now: no worker of this stack claims them while the test reads.
            try await JobStore.insert(db, [new("job_a", key: "k1"), new("job_b", key: nil), new("job_c", key: "k3")], agingSeconds: 60,
                                      now: now.addingTimeInterval(3600))
            let events = try await db.query("SELECT job_id, sequence, type, status FROM job_events ORDER BY job_id")
            #expect(try events.map { try $0.string("job_id") } == ["job_a", "job_b", "job_c"])
            #expect(try events.allSatisfy { try $0.int("sequence") == 1 && $0.string("type") == "queued" && $0.string("status") == "queued" })
            let holds = try await db.query("SELECT hold_ids FROM jobs ORDER BY id").map { try $0.string("hold_ids") }
            #expect(holds == ["hold_job_a", "hold_job_b", "hold_job_c"])
            // All or none: the same user's key k1 again fails the batch, and job_d is not queued either.
            await #expect(throws: DatabaseError.self) {
                try await JobStore.insert(db, [new("job_d", key: "k4"), new("job_e", key: "k1")], agingSeconds: 60, now: now.addingTimeInterval(3600))
            }
            let count = try await db.first("SELECT COUNT(*) AS n FROM jobs")?.int("n")
            #expect(count == 3)
        }
    }

    @Test("workers looking together claim in one statement in queue order; steps, usage records and ends of jobs together go in one each",
          arguments: TestBackend.available)
    func claimedAndEndedTogether(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.generation], overrides: ["generation.workers": "1", "generation.poll-ms": "60000"]) { stack in
            let db = stack.database(.generation)
            // Runnable an hour from now: the stack's own worker does not claim them.
            let start = Date.databaseNow.addingTimeInterval(3600)
            let queued = (0..<3).map { index in
                var job = Job()
                job.id = "job_\(index)"
                job.kind = "image"
                job.status = "queued"
                job.characterID = "character_1"
                job.maxAttempts = 3
                job.asset = "credits"
                job.charge = "held"
                job.priority = "free"
                // Queued a second apart: the first is first in the queue.
                job.createdAt = .init(date: start.addingTimeInterval(Double(index)))
                job.updatedAt = job.createdAt
                return JobStore.NewJob(job: job, user: "user_c", plan: "free", rank: 0, holds: ["hold_\(index)"], key: nil)
            }
            try await JobStore.insert(db, queued, agingSeconds: 60, now: start)
            let now = start.addingTimeInterval(10)
            let first = try await JobStore.claim(db, count: 2, now: now, leaseUntil: now.addingTimeInterval(60))
            #expect(Set(first.map(\.job.id)) == ["job_0", "job_1"])
            #expect(first.allSatisfy { $0.job.status == "running" && $0.job.attempts == 1 && $0.holdIDs == ["hold_\($0.job.id.dropFirst(4))"] })
            let rest = try await JobStore.claim(db, count: 5, now: now, leaseUntil: now.addingTimeInterval(60))
            #expect(rest.map(\.job.id) == ["job_2"])
            #expect(try await JobStore.claim(db, count: 5, now: now, leaseUntil: now.addingTimeInterval(60)).isEmpty)

            // Steps of job_0 and job_2 together, and one of job_1 by an attempt it is no longer in.
            let answers = try await JobStore.progress(db, [
                .init(job: "job_0", attempt: 1, percent: 50, message: "halfway"), .init(job: "job_1", attempt: 2, percent: 50, message: "halfway"),
                .init(job: "job_2", attempt: 1, percent: 60, message: "further"),
            ], now: now)
            #expect(answers == [false, nil, false])
            // Two provider calls recorded together, each job's cancel flag read back; a job that is gone reads as canceled.
            try await db.query("UPDATE jobs SET cancel_requested = \(true) WHERE id = 'job_2'")
            let meter = UsageMeter(database: db, costs: try CostTable.load(path: nil))
            let call = MeteredCall(operation: "image_generation", provider: "local", model: "local")
            let canceled = try await JobStore.cancelRequested(db, jobs: ["job_0", "job_2", "job_gone"], after: UsageMeter.insert([
                meter.row(call, user: "user_c", job: "job_0", attempt: 1, step: "image"), meter.row(call, user: "user_c", job: "job_2", attempt: 1, step: "image"),
            ]))
            #expect(canceled == [false, true, true])
            #expect(try await db.first("SELECT COUNT(*) AS n FROM usage_records")?.int("n") == 2)

            // job_1 is ended by a worker whose attempt is not the job's now: it stays running.
            try await JobStore.succeed(db, [
                .init(job: "job_0", attempt: 1, charge: "settled", mediaIDs: ["media_a"], resultURLs: ["/a.png"], storyID: "", message: "1 image ready"),
                .init(job: "job_1", attempt: 2, charge: "settled", mediaIDs: ["media_b"], resultURLs: ["/b.png"], storyID: "", message: "1 image ready"),
                .init(job: "job_2", attempt: 1, charge: "none", mediaIDs: ["media_c", "media_d"], resultURLs: ["/c.png", "/d.png"], storyID: "",
                      message: "2 images ready"),
            ], now: now.addingTimeInterval(1))
            let jobs = try await db.query("SELECT id, status, charge, media_ids, progress FROM jobs ORDER BY id")
            #expect(try jobs.map { try $0.string("status") } == ["succeeded", "running", "succeeded"])
            #expect(try jobs.map { try $0.string("charge") } == ["settled", "held", "none"])
            #expect(try jobs.map { try JSONColumn.list($0, "media_ids") } == [["media_a"], [], ["media_c", "media_d"]])
            #expect(try jobs.map { try $0.int("progress") } == [100, 0, 100])
            let events = try await db.query("SELECT job_id, sequence, type, message FROM job_events ORDER BY job_id, sequence")
            #expect(try events.map { "\(try $0.string("job_id")) \(try $0.int("sequence")) \(try $0.string("type")): \(try $0.string("message"))" } == [
                "job_0 1 queued: waiting for a worker", "job_0 2 running: attempt 1 of 3", "job_0 3 progress: halfway", "job_0 4 succeeded: 1 image ready",
                "job_1 1 queued: waiting for a worker", "job_1 2 running: attempt 1 of 3",
                "job_2 1 queued: waiting for a worker", "job_2 2 running: attempt 1 of 3", "job_2 3 progress: further",
                "job_2 4 succeeded: 2 images ready",
            ])
        }
    }
}

private extension Range where Bound == Int {
    func asyncMap<T>(_ transform: (Int) async throws -> T) async rethrows -> [T] {
        var mapped: [T] = []
        for value in self { mapped.append(try await transform(value)) }
        return mapped
    }
}
