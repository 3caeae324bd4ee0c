import ServiceKit

/// The generation service's schema. Times are BIGINT microseconds since 1970 (see `SQLValue`).
///
/// `jobs` is the queue and the record at once: a worker claims the oldest runnable job (plan
/// priority, aged by waiting time) by setting its lease; `last_sequence` numbers the job's
/// events, which `job_events` keeps for watching and replay. `hold_ids` are the commerce holds
/// placed for the job (one per credit-priced unit), settled or released with it.
///
/// `provider_webhooks` holds every webhook delivery's id (Replicate's `webhook-id`, the same on
/// retries) so each is applied once; `replicate_predictions` is what those deliveries said: the
/// finished prediction a worker waits for.
enum GenerationMigrations {
    static let all: [Migration] = [
        Migration(version: 1, name: "jobs and their events", statements: [
            """
            CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'canceled')),
                character_id TEXT NOT NULL,
                input TEXT NOT NULL,
                plan TEXT NOT NULL,
                priority TEXT NOT NULL,
                plan_rank BIGINT NOT NULL,
                progress INTEGER NOT NULL DEFAULT 0,
                attempts INTEGER NOT NULL DEFAULT 0,
                max_attempts INTEGER NOT NULL,
                cost BIGINT NOT NULL,
                asset TEXT NOT NULL,
                charge TEXT NOT NULL,
                hold_ids TEXT NOT NULL,
                media_ids TEXT NOT NULL,
                result_urls TEXT NOT NULL,
                error_code TEXT NOT NULL DEFAULT '',
                error_message TEXT NOT NULL DEFAULT '',
                run_after BIGINT NOT NULL,
                lease_until BIGINT,
                cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
                last_sequence BIGINT NOT NULL DEFAULT 0,
                idempotency_key TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                started_at BIGINT,
                finished_at BIGINT
            )
            """,
            "CREATE UNIQUE INDEX jobs_idempotency ON jobs (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
            "CREATE INDEX jobs_user_created ON jobs (user_id, created_at)",
            "CREATE INDEX jobs_runnable ON jobs (run_after) WHERE status = 'queued'",
            "CREATE INDEX jobs_leased ON jobs (lease_until) WHERE status = 'running'",
            """
            CREATE TABLE job_events (
                job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                sequence BIGINT NOT NULL,
                type TEXT NOT NULL,
                status TEXT NOT NULL,
                progress INTEGER NOT NULL,
                message TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (job_id, sequence)
            )
            """,
        ]),
        Migration(version: 2, name: "provider webhooks", statements: [
            """
            CREATE TABLE provider_webhooks (
                webhook_id TEXT PRIMARY KEY,
                provider TEXT NOT NULL,
                received_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE replicate_predictions (
                id TEXT PRIMARY KEY,
                status TEXT NOT NULL,
                body TEXT NOT NULL,
                received_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX provider_webhooks_received ON provider_webhooks (received_at)",
            "CREATE INDEX replicate_predictions_received ON replicate_predictions (received_at)",
        ]),
        Migration(version: 3, name: "stories and their narration", statements: [
            "ALTER TABLE jobs ADD COLUMN story_id TEXT NOT NULL DEFAULT ''",
            "CREATE INDEX jobs_story ON jobs (user_id, story_id, created_at) WHERE story_id <> ''",
        ]),
        Migration(version: 4, name: "usage metering and its alerts", statements: [
            // One row per provider call: a job's attempt and step name it, so a step retried
            // after a crash that had already recorded it is not counted twice.
            """
            CREATE TABLE usage_records (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                job_id TEXT NOT NULL,
                operation TEXT NOT NULL,
                provider TEXT NOT NULL,
                model TEXT NOT NULL,
                items BIGINT NOT NULL,
                tokens BIGINT,
                characters BIGINT,
                cost_micros BIGINT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX usage_records_user ON usage_records (user_id, created_at)",
            """
            CREATE TABLE usage_alerts (
                user_id TEXT NOT NULL,
                asset TEXT NOT NULL,
                period_end BIGINT NOT NULL,
                threshold INTEGER NOT NULL,
                sent_at BIGINT NOT NULL,
                PRIMARY KEY (user_id, asset, period_end, threshold)
            )
            """,
        ]),
        Migration(version: 5, name: "a job's priority within its plan", statements: [
            // Microseconds a job goes ahead of (or behind) its plan's other jobs: a narration or
            // illustrations asked for with priority high or low.
            "ALTER TABLE jobs ADD COLUMN priority_shift BIGINT NOT NULL DEFAULT 0",
        ]),
        Migration(version: 6, name: "a job's place in the queue, indexed", statements: [
            // Where a job stands in the queue (`JobStore.queuePlace`), kept at insert so that the
            // claim walks an index instead of sorting every queued job on each claim: with a
            // thousand queued that sort was the dearest statement a job ran. Jobs already
            // queued get the place the default aging (60 s a rank) gives them.
            "ALTER TABLE jobs ADD COLUMN queue_at BIGINT NOT NULL DEFAULT 0",
            "UPDATE jobs SET queue_at = created_at - plan_rank * 60000000 - priority_shift",
            "DROP INDEX jobs_runnable",
            "CREATE INDEX jobs_queue ON jobs (queue_at, id) WHERE status = 'queued'",
        ]),
    ]
}
