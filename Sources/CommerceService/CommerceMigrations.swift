import ServiceKit

/// The commerce service's schema. Times are BIGINT microseconds since 1970 (see `SQLValue`).
///
/// The ledger: `grants` are what a wallet received (with `remaining`, what is left of each), `holds`
/// reserve credits for a job and `hold_parts` say which grants a hold drew from, so a release gives
/// back to the same grants. `ledger_entries` is append-only: for every wallet and asset the sum of
/// its entries equals the sum of `remaining` over unexpired grants, the available balance.
/// `movements` keeps each idempotency key's request fingerprint and reply.
enum CommerceMigrations {
    static let all: [Migration] = [
        Migration(version: 1, name: "wallets, grants, holds, ledger entries, movements", statements: [
            """
            CREATE TABLE wallets (
                user_id TEXT PRIMARY KEY,
                version BIGINT NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE grants (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                asset TEXT NOT NULL,
                amount BIGINT NOT NULL,
                remaining BIGINT NOT NULL CHECK (remaining >= 0),
                source TEXT NOT NULL,
                reference TEXT,
                expires_at BIGINT,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX grants_spendable ON grants (user_id, asset, expires_at) WHERE remaining > 0",
            // Allowances and invoices are granted once per period: found by their reference.
            "CREATE INDEX grants_reference ON grants (user_id, reference)",
            """
            CREATE TABLE holds (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                asset TEXT NOT NULL,
                amount BIGINT NOT NULL CHECK (amount > 0),
                operation TEXT NOT NULL,
                job_id TEXT NOT NULL,
                status TEXT NOT NULL,
                expires_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                finished_at BIGINT
            )
            """,
            "CREATE INDEX holds_user_status ON holds (user_id, status, finished_at)",
            "CREATE INDEX holds_open_expiry ON holds (expires_at) WHERE status = 'held'",
            """
            CREATE TABLE hold_parts (
                hold_id TEXT NOT NULL,
                grant_id TEXT NOT NULL,
                amount BIGINT NOT NULL,
                PRIMARY KEY (hold_id, grant_id)
            )
            """,
            """
            CREATE TABLE ledger_entries (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                asset TEXT NOT NULL,
                amount BIGINT NOT NULL,
                kind TEXT NOT NULL,
                source TEXT NOT NULL,
                grant_id TEXT,
                hold_id TEXT,
                reference TEXT,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX ledger_entries_user ON ledger_entries (user_id, created_at)",
            "CREATE INDEX ledger_entries_user_asset ON ledger_entries (user_id, asset, created_at)",
            """
            CREATE TABLE movements (
                user_id TEXT NOT NULL,
                idempotency_key TEXT NOT NULL,
                kind TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                response BYTEA NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (user_id, idempotency_key)
            )
            """,
        ]),
        Migration(version: 2, name: "subscriptions, customers, payments, webhook inbox, sandbox", statements: [
            """
            CREATE TABLE subscriptions (
                user_id TEXT PRIMARY KEY,
                plan_id TEXT NOT NULL,
                status TEXT NOT NULL,
                provider_subscription_id TEXT NOT NULL UNIQUE,
                current_period_start BIGINT,
                current_period_end BIGINT,
                cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE,
                canceled_at BIGINT,
                last_event_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE customers (
                user_id TEXT PRIMARY KEY,
                provider TEXT NOT NULL,
                provider_customer_id TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE payments (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                description TEXT NOT NULL,
                amount_cents BIGINT NOT NULL,
                currency TEXT NOT NULL,
                status TEXT NOT NULL,
                reference TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX payments_user ON payments (user_id, created_at)",
            """
            CREATE TABLE webhook_inbox (
                event_id TEXT PRIMARY KEY,
                type TEXT NOT NULL,
                event_created BIGINT NOT NULL,
                outcome TEXT NOT NULL,
                received_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE sandbox_checkouts (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                mode TEXT NOT NULL,
                item_id TEXT NOT NULL,
                description TEXT NOT NULL,
                amount_cents BIGINT NOT NULL,
                currency TEXT NOT NULL,
                status TEXT NOT NULL,
                success_url TEXT NOT NULL,
                cancel_url TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE sandbox_subscriptions (
                id TEXT PRIMARY KEY,
                customer_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                plan_id TEXT NOT NULL,
                amount_cents BIGINT NOT NULL,
                currency TEXT NOT NULL,
                status TEXT NOT NULL,
                current_period_start BIGINT NOT NULL,
                current_period_end BIGINT NOT NULL,
                cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE
            )
            """,
        ]),
        // Accounts deleted through PurgeUser: no movement or webhook opens a wallet for them again.
        Migration(version: 3, name: "closed accounts", statements: [
            """
            CREATE TABLE closed_accounts (
                user_id TEXT PRIMARY KEY,
                closed_at BIGINT NOT NULL
            )
            """,
        ]),
    ]
}
