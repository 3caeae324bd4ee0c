import ServiceKit

/// The catalog's schema. Times are BIGINT microseconds since 1970 (see `SQLValue`); lists and
/// maps are JSON text (`JSONColumn`). Every row carries its owner's `user_id`, so ownership is
/// part of every lookup and a purge is one DELETE per table.
///
/// Counts a list shows (a character's images and videos, a hero's stories, a theme's variants,
/// a story's illustrations, a collection's characters) are kept on the parent row in the same
/// transaction as the change, so lists never count rows per item. Indexes lead with `user_id`
/// and end with the sort column, one per filter and sort the API offers.
enum CatalogMigrations {
    static let all: [Migration] = [
        Migration(version: 1, name: "characters, tags, explore counts, themes, variants, collections, media", statements: [
            // How many characters each user keeps: the plan's cap is checked and taken in one UPDATE.
            "CREATE TABLE owners (user_id TEXT PRIMARY KEY, characters BIGINT NOT NULL DEFAULT 0)",
            """
            CREATE TABLE characters (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                name TEXT NOT NULL,
                description TEXT,
                prompt TEXT NOT NULL,
                style_type TEXT NOT NULL,
                age_range TEXT, gender TEXT, ethnicity TEXT, body_type TEXT,
                hair_style TEXT, hair_color TEXT, eye_color TEXT, skin_tone TEXT,
                occupation TEXT,
                personality TEXT NOT NULL,
                physical_traits TEXT NOT NULL,
                clothing TEXT, background TEXT, custom_description TEXT,
                tags TEXT NOT NULL,
                search_text TEXT NOT NULL,
                is_public BOOLEAN NOT NULL,
                is_favorite BOOLEAN NOT NULL,
                generation_status TEXT NOT NULL,
                image_url TEXT, thumbnail_url TEXT, reference_image_url TEXT,
                image_count BIGINT NOT NULL DEFAULT 0,
                video_count BIGINT NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX characters_user_created ON characters (user_id, created_at, id)",
            "CREATE INDEX characters_user_updated ON characters (user_id, updated_at, id)",
            "CREATE INDEX characters_user_name ON characters (user_id, name, id)",
            "CREATE INDEX characters_user_style ON characters (user_id, style_type, created_at)",
            "CREATE INDEX characters_user_favorite ON characters (user_id, is_favorite, created_at)",
            // Explore reads only public characters, newest first or by name, optionally one style.
            "CREATE INDEX characters_public_created ON characters (created_at, id) WHERE is_public = TRUE",
            "CREATE INDEX characters_public_name ON characters (name, id) WHERE is_public = TRUE",
            "CREATE INDEX characters_public_style_created ON characters (style_type, created_at, id) WHERE is_public = TRUE",
            "CREATE INDEX characters_public_style_name ON characters (style_type, name, id) WHERE is_public = TRUE",
            "CREATE TABLE character_tags (character_id TEXT NOT NULL, user_id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (character_id, tag))",
            "CREATE INDEX character_tags_user_tag ON character_tags (user_id, tag, character_id)",
            // Public characters per style ('' for all), so explore's total is one row, not a count
            // over a million.
            "CREATE TABLE public_counts (style_type TEXT PRIMARY KEY, count BIGINT NOT NULL DEFAULT 0)",
            """
            CREATE TABLE themes (
                id TEXT PRIMARY KEY,
                character_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                name TEXT NOT NULL,
                description TEXT,
                variant_count BIGINT NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                UNIQUE (character_id, name)
            )
            """,
            "CREATE INDEX themes_character_created ON themes (character_id, created_at, id)",
            "CREATE INDEX themes_user ON themes (user_id)",
            """
            CREATE TABLE variants (
                id TEXT PRIMARY KEY,
                theme_id TEXT NOT NULL,
                character_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                prompt TEXT NOT NULL,
                image_url TEXT, thumbnail_url TEXT,
                metadata TEXT NOT NULL,
                idempotency_key TEXT,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX variants_theme_created ON variants (theme_id, created_at, id)",
            "CREATE INDEX variants_character ON variants (character_id)",
            "CREATE INDEX variants_user ON variants (user_id)",
            "CREATE UNIQUE INDEX variants_idempotency ON variants (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
            """
            CREATE TABLE collections (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                name TEXT NOT NULL,
                description TEXT,
                is_public BOOLEAN NOT NULL,
                cover_image_url TEXT,
                character_count BIGINT NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX collections_user_created ON collections (user_id, created_at, id)",
            """
            CREATE TABLE collection_characters (
                collection_id TEXT NOT NULL,
                character_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                added_at BIGINT NOT NULL,
                PRIMARY KEY (collection_id, character_id)
            )
            """,
            "CREATE INDEX collection_characters_added ON collection_characters (collection_id, added_at, character_id)",
            "CREATE INDEX collection_characters_character ON collection_characters (character_id)",
            "CREATE INDEX collection_characters_user ON collection_characters (user_id)",
            """
            CREATE TABLE media (
                id TEXT PRIMARY KEY,
                character_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                type TEXT NOT NULL,
                url TEXT NOT NULL,
                thumbnail_url TEXT,
                generation_params TEXT NOT NULL,
                file_size_bytes BIGINT NOT NULL,
                width BIGINT NOT NULL,
                height BIGINT NOT NULL,
                duration_seconds DOUBLE PRECISION,
                watermarked BOOLEAN NOT NULL,
                idempotency_key TEXT,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX media_character_created ON media (character_id, created_at, id)",
            "CREATE INDEX media_character_type ON media (character_id, type, created_at, id)",
            "CREATE INDEX media_user ON media (user_id)",
            "CREATE UNIQUE INDEX media_idempotency ON media (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
        ]),
        Migration(version: 2, name: "heroes, visual profiles, stories, illustrations, custom story events", statements: [
            """
            CREATE TABLE heroes (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                name TEXT NOT NULL,
                age BIGINT NOT NULL,
                traits TEXT NOT NULL,
                appearance TEXT NOT NULL,
                abilities TEXT NOT NULL,
                avatar_url TEXT, avatar_prompt TEXT, avatar_generation_id TEXT,
                visual_profile TEXT,
                story_count BIGINT NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX heroes_user_created ON heroes (user_id, created_at, id)",
            "CREATE INDEX heroes_user_name ON heroes (user_id, name, id)",
            """
            CREATE TABLE stories (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                hero_id TEXT,
                title TEXT NOT NULL,
                content TEXT NOT NULL,
                language TEXT NOT NULL,
                event_type TEXT,
                custom_event_id TEXT,
                custom_event_prompt TEXT,
                audio_url TEXT,
                audio_generated BOOLEAN NOT NULL DEFAULT FALSE,
                audio_duration DOUBLE PRECISION,
                voice_type TEXT,
                illustration_count BIGINT NOT NULL DEFAULT 0,
                listen_count BIGINT NOT NULL DEFAULT 0,
                last_listened_at BIGINT,
                is_favorite BOOLEAN NOT NULL DEFAULT FALSE,
                idempotency_key TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX stories_user_created ON stories (user_id, created_at, id)",
            "CREATE INDEX stories_user_listens ON stories (user_id, listen_count, id)",
            "CREATE INDEX stories_hero_created ON stories (hero_id, created_at, id)",
            "CREATE INDEX stories_user_event ON stories (user_id, event_type, created_at)",
            "CREATE INDEX stories_user_language ON stories (user_id, language, created_at)",
            "CREATE INDEX stories_user_favorite ON stories (user_id, is_favorite, created_at)",
            "CREATE INDEX stories_custom_event ON stories (custom_event_id)",
            "CREATE UNIQUE INDEX stories_idempotency ON stories (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
            """
            CREATE TABLE illustrations (
                id TEXT PRIMARY KEY,
                story_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                image_url TEXT NOT NULL,
                prompt TEXT NOT NULL,
                generation_id TEXT,
                timestamp_seconds DOUBLE PRECISION NOT NULL,
                duration_seconds DOUBLE PRECISION,
                display_order BIGINT NOT NULL,
                generation_status TEXT NOT NULL,
                error_message TEXT,
                idempotency_key TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX illustrations_story_order ON illustrations (story_id, display_order)",
            "CREATE INDEX illustrations_user ON illustrations (user_id)",
            "CREATE UNIQUE INDEX illustrations_idempotency ON illustrations (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
            """
            CREATE TABLE custom_events (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                title TEXT NOT NULL,
                description TEXT NOT NULL,
                prompt_seed TEXT NOT NULL,
                keywords TEXT NOT NULL,
                category TEXT NOT NULL,
                age_range TEXT,
                tone TEXT NOT NULL,
                pictogram_url TEXT, pictogram_emoji TEXT,
                usage_count BIGINT NOT NULL DEFAULT 0,
                last_used_at BIGINT,
                is_favorite BOOLEAN NOT NULL DEFAULT FALSE,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX custom_events_user_created ON custom_events (user_id, created_at, id)",
            "CREATE INDEX custom_events_user_category ON custom_events (user_id, category, created_at)",
            "CREATE INDEX custom_events_user_usage ON custom_events (user_id, usage_count, id)",
            "CREATE INDEX custom_events_user_title ON custom_events (user_id, title, id)",
            "CREATE INDEX custom_events_user_favorite ON custom_events (user_id, is_favorite, created_at)",
        ]),
        Migration(version: 3, name: "file uploads", statements: [
            """
            CREATE TABLE file_uploads (
                storage_key TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                file_name TEXT NOT NULL,
                mime_type TEXT NOT NULL,
                file_size BIGINT NOT NULL,
                category TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX file_uploads_user ON file_uploads (user_id, created_at)",
        ]),
    ]
}
