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
        // The lean ledger and the constraints (DESIGN.md, "Data"). A wallet keeps when it next needs
        // upkeep: its soonest grant expiry and until when its calendar allowances are current, so a
        // movement learns from the row it locks that nothing is due. A hold's parts are its hold
        // entries in the ledger, so `hold_parts` goes. Grants, holds, entries and movements belong
        // to their wallet (foreign keys), and enum-like columns and balances are checked. SQLite
        // cannot add a constraint to a table, so it rebuilds each (renamed aside, created anew,
        // copied, dropped), parents first; rows without a wallet go.
        Migration(version: 4, name: "lean ledger: upkeep times, foreign keys, checks", statements: [
            "ALTER TABLE wallets ADD COLUMN next_expiry BIGINT",
            "ALTER TABLE wallets ADD COLUMN allowances_until BIGINT",
            "UPDATE wallets SET next_expiry = (SELECT MIN(g.expires_at) FROM grants g WHERE g.user_id = wallets.user_id AND g.remaining > 0 AND g.expires_at IS NOT NULL)",
            "UPDATE subscriptions SET status = 'canceled' WHERE status NOT IN ('incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused')",
            "DROP TABLE hold_parts",
            "ALTER TABLE grants RENAME TO grants_before_constraints",
            """
            CREATE TABLE grants (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES wallets (user_id) ON DELETE CASCADE,
                asset TEXT NOT NULL,
                amount BIGINT NOT NULL CHECK (amount > 0),
                remaining BIGINT NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
                source TEXT NOT NULL CHECK (source IN ('signup', 'daily', 'monthly', 'subscription', 'pack', 'refund', 'admin')),
                reference TEXT,
                expires_at BIGINT,
                created_at BIGINT NOT NULL
            )
            """,
            "INSERT INTO grants (id, user_id, asset, amount, remaining, source, reference, expires_at, created_at) SELECT id, user_id, asset, amount, remaining, source, reference, expires_at, created_at FROM grants_before_constraints WHERE EXISTS (SELECT 1 FROM wallets w WHERE w.user_id = grants_before_constraints.user_id)",
            "DROP TABLE grants_before_constraints",
            "CREATE INDEX grants_spendable ON grants (user_id, asset, expires_at) WHERE remaining > 0",
            "CREATE INDEX grants_reference ON grants (user_id, reference)",
            "ALTER TABLE holds RENAME TO holds_before_constraints",
            """
            CREATE TABLE holds (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES wallets (user_id) ON DELETE CASCADE,
                asset TEXT NOT NULL,
                amount BIGINT NOT NULL CHECK (amount > 0),
                operation TEXT NOT NULL,
                job_id TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('held', 'settled', 'released', 'expired')),
                expires_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                finished_at BIGINT
            )
            """,
            "INSERT INTO holds (id, user_id, asset, amount, operation, job_id, status, expires_at, created_at, finished_at) SELECT id, user_id, asset, amount, operation, job_id, status, expires_at, created_at, finished_at FROM holds_before_constraints WHERE EXISTS (SELECT 1 FROM wallets w WHERE w.user_id = holds_before_constraints.user_id)",
            "DROP TABLE holds_before_constraints",
            "CREATE INDEX holds_user_status ON holds (user_id, status, finished_at)",
            "CREATE INDEX holds_open_expiry ON holds (expires_at) WHERE status = 'held'",
            "ALTER TABLE ledger_entries RENAME TO ledger_entries_before_constraints",
            """
            CREATE TABLE ledger_entries (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES wallets (user_id) ON DELETE CASCADE,
                asset TEXT NOT NULL,
                amount BIGINT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('grant', 'hold', 'settle', 'release', 'expire')),
                source TEXT NOT NULL,
                grant_id TEXT REFERENCES grants (id) ON DELETE CASCADE,
                hold_id TEXT REFERENCES holds (id) ON DELETE CASCADE,
                reference TEXT,
                created_at BIGINT NOT NULL
            )
            """,
            "INSERT INTO ledger_entries (id, user_id, asset, amount, kind, source, grant_id, hold_id, reference, created_at) SELECT id, user_id, asset, amount, kind, source, grant_id, hold_id, reference, created_at FROM ledger_entries_before_constraints WHERE EXISTS (SELECT 1 FROM wallets w WHERE w.user_id = ledger_entries_before_constraints.user_id)",
            "DROP TABLE ledger_entries_before_constraints",
            "CREATE INDEX ledger_entries_user ON ledger_entries (user_id, created_at)",
            "CREATE INDEX ledger_entries_user_asset ON ledger_entries (user_id, asset, created_at)",
            "ALTER TABLE movements RENAME TO movements_before_constraints",
            """
            CREATE TABLE movements (
                user_id TEXT NOT NULL REFERENCES wallets (user_id) ON DELETE CASCADE,
                idempotency_key TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('grant', 'hold', 'settle', 'release')),
                fingerprint TEXT NOT NULL,
                response BYTEA NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (user_id, idempotency_key)
            )
            """,
            "INSERT INTO movements (user_id, idempotency_key, kind, fingerprint, response, created_at) SELECT user_id, idempotency_key, kind, fingerprint, response, created_at FROM movements_before_constraints WHERE EXISTS (SELECT 1 FROM wallets w WHERE w.user_id = movements_before_constraints.user_id)",
            "DROP TABLE movements_before_constraints",
            "ALTER TABLE subscriptions RENAME TO subscriptions_before_constraints",
            """
            CREATE TABLE subscriptions (
                user_id TEXT PRIMARY KEY,
                plan_id TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused')),
                provider_subscription_id TEXT NOT NULL UNIQUE,
                current_period_start BIGINT,
                current_period_end BIGINT,
                cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE,
                canceled_at BIGINT,
                last_event_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "INSERT INTO subscriptions (user_id, plan_id, status, provider_subscription_id, current_period_start, current_period_end, cancel_at_period_end, canceled_at, last_event_at, updated_at) SELECT user_id, plan_id, status, provider_subscription_id, current_period_start, current_period_end, cancel_at_period_end, canceled_at, last_event_at, updated_at FROM subscriptions_before_constraints WHERE TRUE",
            "DROP TABLE subscriptions_before_constraints",
            "ALTER TABLE payments RENAME TO payments_before_constraints",
            """
            CREATE TABLE payments (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('subscription', 'token_pack')),
                description TEXT NOT NULL,
                amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
                currency TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('paid', 'failed')),
                reference TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL
            )
            """,
            "INSERT INTO payments (id, user_id, kind, description, amount_cents, currency, status, reference, created_at) SELECT id, user_id, kind, description, amount_cents, currency, status, reference, created_at FROM payments_before_constraints WHERE TRUE",
            "DROP TABLE payments_before_constraints",
            "CREATE INDEX payments_user ON payments (user_id, created_at)",
            "CREATE INDEX holds_user_open ON holds (user_id, expires_at) WHERE status = 'held'",
            "CREATE INDEX ledger_entries_hold ON ledger_entries (hold_id) WHERE hold_id IS NOT NULL",
            "CREATE INDEX wallets_next_expiry ON wallets (next_expiry) WHERE next_expiry IS NOT NULL",
        ], postgres: [
            "ALTER TABLE wallets ADD COLUMN next_expiry BIGINT",
            "ALTER TABLE wallets ADD COLUMN allowances_until BIGINT",
            "UPDATE wallets SET next_expiry = (SELECT MIN(g.expires_at) FROM grants g WHERE g.user_id = wallets.user_id AND g.remaining > 0 AND g.expires_at IS NOT NULL)",
            "UPDATE subscriptions SET status = 'canceled' WHERE status NOT IN ('incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused')",
            "DROP TABLE hold_parts",
            "DELETE FROM ledger_entries e WHERE NOT EXISTS (SELECT 1 FROM wallets w WHERE w.user_id = e.user_id)",
            "DELETE FROM movements m WHERE NOT EXISTS (SELECT 1 FROM wallets w WHERE w.user_id = m.user_id)",
            "DELETE FROM holds h WHERE NOT EXISTS (SELECT 1 FROM wallets w WHERE w.user_id = h.user_id)",
            "DELETE FROM grants g WHERE NOT EXISTS (SELECT 1 FROM wallets w WHERE w.user_id = g.user_id)",
            "ALTER TABLE grants ADD CONSTRAINT grants_wallet_fk FOREIGN KEY (user_id) REFERENCES wallets (user_id) ON DELETE CASCADE",
            "ALTER TABLE grants ADD CONSTRAINT grants_amount_check CHECK (amount > 0)",
            "ALTER TABLE grants ADD CONSTRAINT grants_remaining_within_check CHECK (remaining <= amount)",
            "ALTER TABLE grants ADD CONSTRAINT grants_source_check CHECK (source IN ('signup', 'daily', 'monthly', 'subscription', 'pack', 'refund', 'admin'))",
            "ALTER TABLE holds ADD CONSTRAINT holds_wallet_fk FOREIGN KEY (user_id) REFERENCES wallets (user_id) ON DELETE CASCADE",
            "ALTER TABLE holds ADD CONSTRAINT holds_status_check CHECK (status IN ('held', 'settled', 'released', 'expired'))",
            "ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_wallet_fk FOREIGN KEY (user_id) REFERENCES wallets (user_id) ON DELETE CASCADE",
            "ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_grant_fk FOREIGN KEY (grant_id) REFERENCES grants (id) ON DELETE CASCADE",
            "ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_hold_fk FOREIGN KEY (hold_id) REFERENCES holds (id) ON DELETE CASCADE",
            "ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN ('grant', 'hold', 'settle', 'release', 'expire'))",
            "ALTER TABLE movements ADD CONSTRAINT movements_wallet_fk FOREIGN KEY (user_id) REFERENCES wallets (user_id) ON DELETE CASCADE",
            "ALTER TABLE movements ADD CONSTRAINT movements_kind_check CHECK (kind IN ('grant', 'hold', 'settle', 'release'))",
            "ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_status_check CHECK (status IN ('incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused'))",
            "ALTER TABLE payments ADD CONSTRAINT payments_kind_check CHECK (kind IN ('subscription', 'token_pack'))",
            "ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK (status IN ('paid', 'failed'))",
            "ALTER TABLE payments ADD CONSTRAINT payments_amount_check CHECK (amount_cents >= 0)",
            "CREATE INDEX holds_user_open ON holds (user_id, expires_at) WHERE status = 'held'",
            "CREATE INDEX ledger_entries_hold ON ledger_entries (hold_id) WHERE hold_id IS NOT NULL",
            "CREATE INDEX wallets_next_expiry ON wallets (next_expiry) WHERE next_expiry IS NOT NULL",
        ]),
    ]
}
