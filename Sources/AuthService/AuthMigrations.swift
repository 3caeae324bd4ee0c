import ServiceKit

/// The auth service's schema. Times are BIGINT microseconds since 1970 (see `SQLValue`).
enum AuthMigrations {
    static let all: [Migration] = [
        Migration(version: 1, name: "users, sessions, one-time tokens, login throttle, mail outbox, service credentials", statements: [
            """
            CREATE TABLE users (
                id TEXT PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                name TEXT,
                email_verified_at BIGINT,
                preferred_language TEXT NOT NULL DEFAULT 'en',
                theme_preference TEXT NOT NULL DEFAULT 'system',
                content_filter_level TEXT NOT NULL DEFAULT 'moderate',
                roles TEXT NOT NULL DEFAULT 'user',
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                last_seen_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                token_hash TEXT NOT NULL UNIQUE,
                user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                refreshed_at BIGINT NOT NULL,
                user_agent TEXT,
                ip_address TEXT
            )
            """,
            "CREATE INDEX sessions_user_id ON sessions (user_id)",
            "CREATE INDEX sessions_expires_at ON sessions (expires_at)",
            """
            CREATE TABLE one_time_tokens (
                token_hash TEXT PRIMARY KEY,
                purpose TEXT NOT NULL,
                user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                email TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT
            )
            """,
            "CREATE INDEX one_time_tokens_user_purpose ON one_time_tokens (user_id, purpose)",
            """
            CREATE TABLE login_throttle (
                email_key TEXT PRIMARY KEY,
                failures INTEGER NOT NULL,
                window_started_at BIGINT NOT NULL,
                locked_until BIGINT
            )
            """,
            """
            CREATE TABLE mail_outbox (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                recipient TEXT NOT NULL,
                subject TEXT NOT NULL,
                body TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                sent_at BIGINT,
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT
            )
            """,
            "CREATE INDEX mail_outbox_pending ON mail_outbox (sent_at, created_at)",
            """
            CREATE TABLE service_credentials (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                roles TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL
            )
            """,
        ]),
        Migration(version: 2, name: "deleted accounts awaiting their purge", statements: [
            """
            CREATE TABLE account_purges (
                user_id TEXT PRIMARY KEY,
                deleted_at BIGINT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX account_purges_due ON account_purges (next_attempt_at, user_id)",
        ]),
        // Login failures count per account and address, per address and per account
        // (`LoginThrottle`); the rows keyed by email alone mean nothing now. Service credentials
        // can be revoked before they expire.
        Migration(version: 3, name: "login throttle per account and address, revocable credentials", statements: [
            "DELETE FROM login_throttle",
            "ALTER TABLE login_throttle RENAME COLUMN email_key TO throttle_key",
            "ALTER TABLE login_throttle ADD COLUMN account_key TEXT",
            "CREATE INDEX login_throttle_account ON login_throttle (account_key)",
            "ALTER TABLE service_credentials ADD COLUMN revoked_at BIGINT",
        ]),
        Migration(version: 4, name: "messages other services ask for, once per key", statements: [
            "ALTER TABLE mail_outbox ADD COLUMN dedupe_key TEXT",
            "CREATE UNIQUE INDEX mail_outbox_dedupe ON mail_outbox (dedupe_key) WHERE dedupe_key IS NOT NULL",
        ]),
    ]

    static var migrator: Migrator { Migrator(service: "auth", migrations: all) }
}
