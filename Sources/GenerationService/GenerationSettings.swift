import ServiceKit

/// How generation runs its jobs.
///
/// - generation.credential (string, default none): generation's service principal, with the role
///   "generation" (`atelier credential --name generation --roles generation`); `atelier dev` signs
///   one itself. Without it, submits are refused (GENERATION_NOT_CONFIGURED).
/// - generation.workers (int, default 32): jobs run at once in this process. The provider gates
///   bound the provider calls (`ProviderSet`: local 4, Replicate 8, Gemini 4, OpenAI 8); workers
///   bound the jobs in flight, and a job spends most of its life in service calls and statements,
///   so there are more workers than the gates' sum: with 4, the gates were never reached (four
///   20 s Replicate jobs at a time), and 32 made 17% more local jobs a second in the bench's (g).
/// - generation.lease-seconds (int, default 30): how long a claimed job is a worker's before the
///   rescuer returns it to the queue; renewed every third of it while the worker runs
/// - generation.max-attempts (int, default 3), generation.backoff-ms (int, default 1000): retries
///   wait backoff × 2^(attempt-1), with up to half again of jitter
/// - generation.aging-seconds (int, default 60): how long a job waits to climb one plan rank (the
///   place it gives a job is kept from its insert, `JobStore.queuePlace`)
/// - generation.poll-ms (int, default 500): how often idle workers look for work they were not told of
/// - generation.breaker.failures (int, default 5), generation.breaker.open-seconds (int, default 30):
///   failures in a row that open the provider's breaker, and how long it stays open before a probe
/// - generation.local.delay-ms (int, default 0): each result of the local provider takes this long
/// - generation.local.failures (int, default 0): the local provider fails the first that many
///   attempts of every job (a rehearsal of a provider outage)
/// - generation.sync-wait-seconds (int, default 20): how long POST /api/stories waits for the
///   story before it answers 202 with the job instead of 201 with the story
///
/// Which providers serve images, edits and videos, their keys, limits and webhooks: `ProviderSet`.
struct GenerationSettings: Sendable {
    let credential: String?
    let workers: Int
    let lease: Duration
    let maxAttempts: Int
    let backoff: Duration
    let agingSeconds: Int64
    let poll: Duration
    let localDelay: Duration
    let breakerFailures: Int
    let breakerOpen: Duration
    let localFailures: Int
    let watchInterval: Duration = .milliseconds(250)
    let syncWait: Duration

    init(_ configuration: Configuration) throws {
        credential = configuration.string("generation.credential").flatMap { $0.isEmpty ? nil : $0 }
        workers = try configuration.int("generation.workers", default: 32, range: 1...256)
        lease = .seconds(try configuration.int("generation.lease-seconds", default: 30, range: 1...3600))
        maxAttempts = try configuration.int("generation.max-attempts", default: 3, range: 1...10)
        backoff = .milliseconds(try configuration.int("generation.backoff-ms", default: 1000, range: 0...600_000))
        agingSeconds = Int64(try configuration.int("generation.aging-seconds", default: 60, range: 0...86_400))
        poll = .milliseconds(try configuration.int("generation.poll-ms", default: 500, range: 10...60_000))
        localDelay = .milliseconds(try configuration.int("generation.local.delay-ms", default: 0, range: 0...600_000))
        breakerFailures = try configuration.int("generation.breaker.failures", default: 5, range: 1...1000)
        breakerOpen = .seconds(try configuration.int("generation.breaker.open-seconds", default: 30, range: 1...3600))
        localFailures = try configuration.int("generation.local.failures", default: 0, range: 0...100)
        syncWait = .seconds(try configuration.int("generation.sync-wait-seconds", default: 20, range: 0...120))
    }
}
