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
        // A service's own tables now reference each other (DESIGN.md, "Data"): a character's tags,
        // themes, variants, media and memberships go with it; a collection's memberships and a
        // story's illustrations go with them; a deleted hero or custom event leaves its stories
        // without one. Enum-like columns take only the values the API accepts. Existing rows are
        // brought in line first: orphans left by writes that raced a delete go, stray values are
        // set to the default. SQLite cannot add a constraint to a table, so it rebuilds each one
        // (renamed aside, created anew, copied, dropped), parents before children.
        // Upload records also learn when their link expires and whether their account was purged.
        Migration(version: 4, name: "foreign keys, checks, upload link expiry", statements: [
            "UPDATE characters SET style_type = 'realistic' WHERE style_type NOT IN ('realistic', 'anime', 'cartoon', 'fantasy', 'cyberpunk', 'vintage', 'minimalist')",
            "UPDATE characters SET generation_status = 'pending' WHERE generation_status NOT IN ('pending', 'processing', 'completed', 'failed')",
            "UPDATE custom_events SET category = 'other' WHERE category NOT IN ('bedtime', 'adventure', 'family', 'friendship', 'school', 'holiday', 'nature', 'learning', 'feelings', 'other')",
            "UPDATE custom_events SET tone = 'gentle' WHERE tone NOT IN ('gentle', 'funny', 'exciting', 'calming', 'educational', 'mysterious')",
            "DELETE FROM media WHERE type NOT IN ('image', 'video')",
            "UPDATE stories SET language = 'en' WHERE language NOT IN ('en', 'es', 'fr', 'de', 'it')",
            "UPDATE illustrations SET generation_status = 'failed' WHERE generation_status NOT IN ('pending', 'generating', 'completed', 'failed')",
            "UPDATE stories SET hero_id = NULL WHERE hero_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM heroes h WHERE h.id = stories.hero_id)",
            "UPDATE stories SET custom_event_id = NULL WHERE custom_event_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM custom_events e WHERE e.id = stories.custom_event_id)",
            "ALTER TABLE characters RENAME TO characters_before_constraints",
            """
            CREATE TABLE characters (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                name TEXT NOT NULL,
                description TEXT,
                prompt TEXT NOT NULL,
                style_type TEXT NOT NULL CHECK (style_type IN ('realistic', 'anime', 'cartoon', 'fantasy', 'cyberpunk', 'vintage', 'minimalist')),
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
                generation_status TEXT NOT NULL CHECK (generation_status IN ('pending', 'processing', 'completed', 'failed')),
                image_url TEXT, thumbnail_url TEXT, reference_image_url TEXT,
                image_count BIGINT NOT NULL DEFAULT 0,
                video_count BIGINT NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "INSERT INTO characters (id, user_id, name, description, prompt, style_type, age_range, gender, ethnicity, body_type, hair_style, hair_color, eye_color, skin_tone, occupation, personality, physical_traits, clothing, background, custom_description, tags, search_text, is_public, is_favorite, generation_status, image_url, thumbnail_url, reference_image_url, image_count, video_count, created_at, updated_at) SELECT id, user_id, name, description, prompt, style_type, age_range, gender, ethnicity, body_type, hair_style, hair_color, eye_color, skin_tone, occupation, personality, physical_traits, clothing, background, custom_description, tags, search_text, is_public, is_favorite, generation_status, image_url, thumbnail_url, reference_image_url, image_count, video_count, created_at, updated_at FROM characters_before_constraints WHERE TRUE",
            "DROP TABLE characters_before_constraints",
            "CREATE INDEX characters_user_created ON characters (user_id, created_at, id)",
            "CREATE INDEX characters_user_updated ON characters (user_id, updated_at, id)",
            "CREATE INDEX characters_user_name ON characters (user_id, name, id)",
            "CREATE INDEX characters_user_style ON characters (user_id, style_type, created_at)",
            "CREATE INDEX characters_user_favorite ON characters (user_id, is_favorite, created_at)",
            "CREATE INDEX characters_public_created ON characters (created_at, id) WHERE is_public = TRUE",
            "CREATE INDEX characters_public_name ON characters (name, id) WHERE is_public = TRUE",
            "CREATE INDEX characters_public_style_created ON characters (style_type, created_at, id) WHERE is_public = TRUE",
            "CREATE INDEX characters_public_style_name ON characters (style_type, name, id) WHERE is_public = TRUE",
            "ALTER TABLE custom_events RENAME TO custom_events_before_constraints",
            """
            CREATE TABLE custom_events (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                title TEXT NOT NULL,
                description TEXT NOT NULL,
                prompt_seed TEXT NOT NULL,
                keywords TEXT NOT NULL,
                category TEXT NOT NULL CHECK (category IN ('bedtime', 'adventure', 'family', 'friendship', 'school', 'holiday', 'nature', 'learning', 'feelings', 'other')),
                age_range TEXT,
                tone TEXT NOT NULL CHECK (tone IN ('gentle', 'funny', 'exciting', 'calming', 'educational', 'mysterious')),
                pictogram_url TEXT, pictogram_emoji TEXT,
                usage_count BIGINT NOT NULL DEFAULT 0,
                last_used_at BIGINT,
                is_favorite BOOLEAN NOT NULL DEFAULT FALSE,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "INSERT INTO custom_events (id, user_id, title, description, prompt_seed, keywords, category, age_range, tone, pictogram_url, pictogram_emoji, usage_count, last_used_at, is_favorite, created_at, updated_at) SELECT id, user_id, title, description, prompt_seed, keywords, category, age_range, tone, pictogram_url, pictogram_emoji, usage_count, last_used_at, is_favorite, created_at, updated_at FROM custom_events_before_constraints WHERE TRUE",
            "DROP TABLE custom_events_before_constraints",
            "CREATE INDEX custom_events_user_created ON custom_events (user_id, created_at, id)",
            "CREATE INDEX custom_events_user_category ON custom_events (user_id, category, created_at)",
            "CREATE INDEX custom_events_user_usage ON custom_events (user_id, usage_count, id)",
            "CREATE INDEX custom_events_user_title ON custom_events (user_id, title, id)",
            "CREATE INDEX custom_events_user_favorite ON custom_events (user_id, is_favorite, created_at)",
            "ALTER TABLE character_tags RENAME TO character_tags_before_constraints",
            """
            CREATE TABLE character_tags (
                character_id TEXT NOT NULL REFERENCES characters (id) ON DELETE CASCADE,
                user_id TEXT NOT NULL,
                tag TEXT NOT NULL,
                PRIMARY KEY (character_id, tag)
            )
            """,
            "INSERT INTO character_tags (character_id, user_id, tag) SELECT character_id, user_id, tag FROM character_tags_before_constraints WHERE EXISTS (SELECT 1 FROM characters c WHERE c.id = character_tags_before_constraints.character_id)",
            "DROP TABLE character_tags_before_constraints",
            "CREATE INDEX character_tags_user_tag ON character_tags (user_id, tag, character_id)",
            "ALTER TABLE themes RENAME TO themes_before_constraints",
            """
            CREATE TABLE themes (
                id TEXT PRIMARY KEY,
                character_id TEXT NOT NULL REFERENCES characters (id) ON DELETE CASCADE,
                user_id TEXT NOT NULL,
                name TEXT NOT NULL,
                description TEXT,
                variant_count BIGINT NOT NULL DEFAULT 0,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                UNIQUE (character_id, name)
            )
            """,
            "INSERT INTO themes (id, character_id, user_id, name, description, variant_count, created_at, updated_at) SELECT id, character_id, user_id, name, description, variant_count, created_at, updated_at FROM themes_before_constraints WHERE EXISTS (SELECT 1 FROM characters c WHERE c.id = themes_before_constraints.character_id)",
            "DROP TABLE themes_before_constraints",
            "CREATE INDEX themes_character_created ON themes (character_id, created_at, id)",
            "CREATE INDEX themes_user ON themes (user_id)",
            "ALTER TABLE variants RENAME TO variants_before_constraints",
            """
            CREATE TABLE variants (
                id TEXT PRIMARY KEY,
                theme_id TEXT NOT NULL REFERENCES themes (id) ON DELETE CASCADE,
                character_id TEXT NOT NULL REFERENCES characters (id) ON DELETE CASCADE,
                user_id TEXT NOT NULL,
                prompt TEXT NOT NULL,
                image_url TEXT, thumbnail_url TEXT,
                metadata TEXT NOT NULL,
                idempotency_key TEXT,
                created_at BIGINT NOT NULL
            )
            """,
            "INSERT INTO variants (id, theme_id, character_id, user_id, prompt, image_url, thumbnail_url, metadata, idempotency_key, created_at) SELECT id, theme_id, character_id, user_id, prompt, image_url, thumbnail_url, metadata, idempotency_key, created_at FROM variants_before_constraints WHERE EXISTS (SELECT 1 FROM themes t WHERE t.id = variants_before_constraints.theme_id) AND EXISTS (SELECT 1 FROM characters c WHERE c.id = variants_before_constraints.character_id)",
            "DROP TABLE variants_before_constraints",
            "CREATE INDEX variants_theme_created ON variants (theme_id, created_at, id)",
            "CREATE INDEX variants_character ON variants (character_id)",
            "CREATE INDEX variants_user ON variants (user_id)",
            "CREATE UNIQUE INDEX variants_idempotency ON variants (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
            "ALTER TABLE collection_characters RENAME TO collection_characters_before_constraints",
            """
            CREATE TABLE collection_characters (
                collection_id TEXT NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
                character_id TEXT NOT NULL REFERENCES characters (id) ON DELETE CASCADE,
                user_id TEXT NOT NULL,
                added_at BIGINT NOT NULL,
                PRIMARY KEY (collection_id, character_id)
            )
            """,
            "INSERT INTO collection_characters (collection_id, character_id, user_id, added_at) SELECT collection_id, character_id, user_id, added_at FROM collection_characters_before_constraints WHERE EXISTS (SELECT 1 FROM collections k WHERE k.id = collection_characters_before_constraints.collection_id) AND EXISTS (SELECT 1 FROM characters c WHERE c.id = collection_characters_before_constraints.character_id)",
            "DROP TABLE collection_characters_before_constraints",
            "CREATE INDEX collection_characters_added ON collection_characters (collection_id, added_at, character_id)",
            "CREATE INDEX collection_characters_character ON collection_characters (character_id)",
            "CREATE INDEX collection_characters_user ON collection_characters (user_id)",
            "ALTER TABLE media RENAME TO media_before_constraints",
            """
            CREATE TABLE media (
                id TEXT PRIMARY KEY,
                character_id TEXT NOT NULL REFERENCES characters (id) ON DELETE CASCADE,
                user_id TEXT NOT NULL,
                type TEXT NOT NULL CHECK (type IN ('image', 'video')),
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
            "INSERT INTO media (id, character_id, user_id, type, url, thumbnail_url, generation_params, file_size_bytes, width, height, duration_seconds, watermarked, idempotency_key, created_at) SELECT id, character_id, user_id, type, url, thumbnail_url, generation_params, file_size_bytes, width, height, duration_seconds, watermarked, idempotency_key, created_at FROM media_before_constraints WHERE EXISTS (SELECT 1 FROM characters c WHERE c.id = media_before_constraints.character_id)",
            "DROP TABLE media_before_constraints",
            "CREATE INDEX media_character_created ON media (character_id, created_at, id)",
            "CREATE INDEX media_character_type ON media (character_id, type, created_at, id)",
            "CREATE INDEX media_user ON media (user_id)",
            "CREATE UNIQUE INDEX media_idempotency ON media (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
            "ALTER TABLE stories RENAME TO stories_before_constraints",
            """
            CREATE TABLE stories (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                hero_id TEXT REFERENCES heroes (id) ON DELETE SET NULL,
                title TEXT NOT NULL,
                content TEXT NOT NULL,
                language TEXT NOT NULL CHECK (language IN ('en', 'es', 'fr', 'de', 'it')),
                event_type TEXT,
                custom_event_id TEXT REFERENCES custom_events (id) ON DELETE SET NULL,
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
            "INSERT INTO stories (id, user_id, hero_id, title, content, language, event_type, custom_event_id, custom_event_prompt, audio_url, audio_generated, audio_duration, voice_type, illustration_count, listen_count, last_listened_at, is_favorite, idempotency_key, created_at, updated_at) SELECT id, user_id, hero_id, title, content, language, event_type, custom_event_id, custom_event_prompt, audio_url, audio_generated, audio_duration, voice_type, illustration_count, listen_count, last_listened_at, is_favorite, idempotency_key, created_at, updated_at FROM stories_before_constraints WHERE TRUE",
            "DROP TABLE stories_before_constraints",
            "CREATE INDEX stories_user_created ON stories (user_id, created_at, id)",
            "CREATE INDEX stories_user_listens ON stories (user_id, listen_count, id)",
            "CREATE INDEX stories_hero_created ON stories (hero_id, created_at, id)",
            "CREATE INDEX stories_user_event ON stories (user_id, event_type, created_at)",
            "CREATE INDEX stories_user_language ON stories (user_id, language, created_at)",
            "CREATE INDEX stories_user_favorite ON stories (user_id, is_favorite, created_at)",
            "CREATE INDEX stories_custom_event ON stories (custom_event_id)",
            "CREATE UNIQUE INDEX stories_idempotency ON stories (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
            "ALTER TABLE illustrations RENAME TO illustrations_before_constraints",
            """
            CREATE TABLE illustrations (
                id TEXT PRIMARY KEY,
                story_id TEXT NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
                user_id TEXT NOT NULL,
                image_url TEXT NOT NULL,
                prompt TEXT NOT NULL,
                generation_id TEXT,
                timestamp_seconds DOUBLE PRECISION NOT NULL,
                duration_seconds DOUBLE PRECISION,
                display_order BIGINT NOT NULL,
                generation_status TEXT NOT NULL CHECK (generation_status IN ('pending', 'generating', 'completed', 'failed')),
                error_message TEXT,
                idempotency_key TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "INSERT INTO illustrations (id, story_id, user_id, image_url, prompt, generation_id, timestamp_seconds, duration_seconds, display_order, generation_status, error_message, idempotency_key, created_at, updated_at) SELECT id, story_id, user_id, image_url, prompt, generation_id, timestamp_seconds, duration_seconds, display_order, generation_status, error_message, idempotency_key, created_at, updated_at FROM illustrations_before_constraints WHERE EXISTS (SELECT 1 FROM stories s WHERE s.id = illustrations_before_constraints.story_id)",
            "DROP TABLE illustrations_before_constraints",
            "CREATE INDEX illustrations_story_order ON illustrations (story_id, display_order)",
            "CREATE INDEX illustrations_user ON illustrations (user_id)",
            "CREATE UNIQUE INDEX illustrations_idempotency ON illustrations (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
            "ALTER TABLE file_uploads ADD COLUMN link_expires_at BIGINT NOT NULL DEFAULT 0",
            "UPDATE file_uploads SET link_expires_at = created_at + 900000000",
            "ALTER TABLE file_uploads ADD COLUMN purged_at BIGINT",
        ], postgres: [
            "UPDATE characters SET style_type = 'realistic' WHERE style_type NOT IN ('realistic', 'anime', 'cartoon', 'fantasy', 'cyberpunk', 'vintage', 'minimalist')",
            "UPDATE characters SET generation_status = 'pending' WHERE generation_status NOT IN ('pending', 'processing', 'completed', 'failed')",
            "UPDATE custom_events SET category = 'other' WHERE category NOT IN ('bedtime', 'adventure', 'family', 'friendship', 'school', 'holiday', 'nature', 'learning', 'feelings', 'other')",
            "UPDATE custom_events SET tone = 'gentle' WHERE tone NOT IN ('gentle', 'funny', 'exciting', 'calming', 'educational', 'mysterious')",
            "DELETE FROM media WHERE type NOT IN ('image', 'video')",
            "UPDATE stories SET language = 'en' WHERE language NOT IN ('en', 'es', 'fr', 'de', 'it')",
            "UPDATE illustrations SET generation_status = 'failed' WHERE generation_status NOT IN ('pending', 'generating', 'completed', 'failed')",
            "UPDATE stories SET hero_id = NULL WHERE hero_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM heroes h WHERE h.id = stories.hero_id)",
            "UPDATE stories SET custom_event_id = NULL WHERE custom_event_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM custom_events e WHERE e.id = stories.custom_event_id)",
            "DELETE FROM character_tags t WHERE NOT EXISTS (SELECT 1 FROM characters c WHERE c.id = t.character_id)",
            "DELETE FROM variants v WHERE NOT EXISTS (SELECT 1 FROM themes t WHERE t.id = v.theme_id) OR NOT EXISTS (SELECT 1 FROM characters c WHERE c.id = v.character_id)",
            "DELETE FROM themes t WHERE NOT EXISTS (SELECT 1 FROM characters c WHERE c.id = t.character_id)",
            "DELETE FROM collection_characters m WHERE NOT EXISTS (SELECT 1 FROM collections k WHERE k.id = m.collection_id) OR NOT EXISTS (SELECT 1 FROM characters c WHERE c.id = m.character_id)",
            "DELETE FROM media m WHERE NOT EXISTS (SELECT 1 FROM characters c WHERE c.id = m.character_id)",
            "DELETE FROM illustrations i WHERE NOT EXISTS (SELECT 1 FROM stories s WHERE s.id = i.story_id)",
            "ALTER TABLE characters ADD CONSTRAINT characters_style_type_check CHECK (style_type IN ('realistic', 'anime', 'cartoon', 'fantasy', 'cyberpunk', 'vintage', 'minimalist'))",
            "ALTER TABLE characters ADD CONSTRAINT characters_generation_status_check CHECK (generation_status IN ('pending', 'processing', 'completed', 'failed'))",
            "ALTER TABLE custom_events ADD CONSTRAINT custom_events_category_check CHECK (category IN ('bedtime', 'adventure', 'family', 'friendship', 'school', 'holiday', 'nature', 'learning', 'feelings', 'other'))",
            "ALTER TABLE custom_events ADD CONSTRAINT custom_events_tone_check CHECK (tone IN ('gentle', 'funny', 'exciting', 'calming', 'educational', 'mysterious'))",
            "ALTER TABLE character_tags ADD CONSTRAINT character_tags_character_fk FOREIGN KEY (character_id) REFERENCES characters (id) ON DELETE CASCADE",
            "ALTER TABLE themes ADD CONSTRAINT themes_character_fk FOREIGN KEY (character_id) REFERENCES characters (id) ON DELETE CASCADE",
            "ALTER TABLE variants ADD CONSTRAINT variants_theme_fk FOREIGN KEY (theme_id) REFERENCES themes (id) ON DELETE CASCADE",
            "ALTER TABLE variants ADD CONSTRAINT variants_character_fk FOREIGN KEY (character_id) REFERENCES characters (id) ON DELETE CASCADE",
            "ALTER TABLE collection_characters ADD CONSTRAINT collection_characters_collection_fk FOREIGN KEY (collection_id) REFERENCES collections (id) ON DELETE CASCADE",
            "ALTER TABLE collection_characters ADD CONSTRAINT collection_characters_character_fk FOREIGN KEY (character_id) REFERENCES characters (id) ON DELETE CASCADE",
            "ALTER TABLE media ADD CONSTRAINT media_character_fk FOREIGN KEY (character_id) REFERENCES characters (id) ON DELETE CASCADE",
            "ALTER TABLE media ADD CONSTRAINT media_type_check CHECK (type IN ('image', 'video'))",
            "ALTER TABLE stories ADD CONSTRAINT stories_hero_fk FOREIGN KEY (hero_id) REFERENCES heroes (id) ON DELETE SET NULL",
            "ALTER TABLE stories ADD CONSTRAINT stories_custom_event_fk FOREIGN KEY (custom_event_id) REFERENCES custom_events (id) ON DELETE SET NULL",
            "ALTER TABLE stories ADD CONSTRAINT stories_language_check CHECK (language IN ('en', 'es', 'fr', 'de', 'it'))",
            "ALTER TABLE illustrations ADD CONSTRAINT illustrations_story_fk FOREIGN KEY (story_id) REFERENCES stories (id) ON DELETE CASCADE",
            "ALTER TABLE illustrations ADD CONSTRAINT illustrations_generation_status_check CHECK (generation_status IN ('pending', 'generating', 'completed', 'failed'))",
            "ALTER TABLE file_uploads ADD COLUMN link_expires_at BIGINT NOT NULL DEFAULT 0",
            "UPDATE file_uploads SET link_expires_at = created_at + 900000000",
            "ALTER TABLE file_uploads ADD COLUMN purged_at BIGINT",
        ]),
    ]
}
