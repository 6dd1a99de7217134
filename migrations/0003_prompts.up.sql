-- Migration: prompts schema
-- Version: 0003
-- Description: templates, history, intent_patterns, saved_prompts, collections,
-- collection_prompts and embeddings (pgvector, HNSW cosine index).

CREATE TABLE prompts.templates (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                varchar(255) NOT NULL,
    slug                varchar(255) NOT NULL CONSTRAINT templates_slug_key UNIQUE,
    description         text,
    technique           varchar(100) NOT NULL,
    category            varchar(100),
    template_text       text NOT NULL,
    variables           jsonb DEFAULT '[]',
    examples            jsonb DEFAULT '[]',
    metadata            jsonb DEFAULT '{}',
    effectiveness_score float DEFAULT 0.0,
    usage_count         integer DEFAULT 0,
    is_active           boolean DEFAULT true,
    is_public           boolean DEFAULT true,
    created_by          uuid REFERENCES auth.users (id),
    created_at          timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at          timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_templates_technique ON prompts.templates (technique);
CREATE TRIGGER templates_set_updated_at BEFORE UPDATE ON prompts.templates
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- An empty slug is derived from the name, as the original did.
CREATE FUNCTION prompts.set_template_slug() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.slug IS NULL OR NEW.slug = '' THEN
        NEW.slug = trim(BOTH '-' FROM lower(regexp_replace(NEW.name, '[^a-zA-Z0-9]+', '-', 'g')));
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER templates_set_slug BEFORE INSERT OR UPDATE ON prompts.templates
    FOR EACH ROW EXECUTE FUNCTION prompts.set_template_slug();

CREATE TABLE prompts.history (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            uuid REFERENCES auth.users (id) ON DELETE SET NULL,
    session_id         varchar(255),
    request_id         varchar(255) CONSTRAINT history_request_id_key UNIQUE,
    original_input     text NOT NULL,
    enhanced_output    text NOT NULL,
    intent             varchar(100),
    intent_confidence  float,
    complexity         varchar(50)
        CONSTRAINT history_complexity_check CHECK (complexity IN ('simple', 'moderate', 'complex')),
    techniques_used    text[],
    technique_scores   jsonb DEFAULT '{}',
    processing_time_ms integer,
    token_count        integer,
    model_used         varchar(100),
    feedback_score     integer
        CONSTRAINT history_feedback_score_check CHECK (feedback_score >= 1 AND feedback_score <= 5),
    feedback_text      text,
    is_favorite        boolean DEFAULT false,
    metadata           jsonb DEFAULT '{}',
    created_at         timestamptz DEFAULT CURRENT_TIMESTAMP
);
-- One user's pages newest first; also serves every lookup by user_id alone.
CREATE INDEX idx_history_user_created ON prompts.history (user_id, created_at DESC, id DESC);
CREATE INDEX idx_history_session_id ON prompts.history (session_id);
CREATE INDEX idx_history_created_at ON prompts.history (created_at DESC);
CREATE INDEX idx_history_intent ON prompts.history (intent);
CREATE INDEX idx_history_techniques ON prompts.history USING gin (techniques_used);

CREATE TABLE prompts.intent_patterns (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    pattern            text NOT NULL,
    normalized_pattern text NOT NULL,
    intent             varchar(100) NOT NULL,
    sub_intent         varchar(100),
    confidence         float DEFAULT 1.0
        CONSTRAINT intent_patterns_confidence_check CHECK (confidence >= 0 AND confidence <= 1),
    is_verified        boolean DEFAULT false,
    verified_by        uuid REFERENCES auth.users (id),
    source             varchar(50),
    created_at         timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at         timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_intent_patterns_intent ON prompts.intent_patterns (intent);
CREATE INDEX idx_intent_patterns_normalized ON prompts.intent_patterns (normalized_pattern);
CREATE TRIGGER intent_patterns_set_updated_at BEFORE UPDATE ON prompts.intent_patterns
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE FUNCTION prompts.normalize_intent_pattern() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.normalized_pattern = lower(trim(NEW.pattern));
    RETURN NEW;
END;
$$;
CREATE TRIGGER intent_patterns_normalize BEFORE INSERT OR UPDATE ON prompts.intent_patterns
    FOR EACH ROW EXECUTE FUNCTION prompts.normalize_intent_pattern();

CREATE TABLE prompts.saved_prompts (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    history_id  uuid REFERENCES prompts.history (id) ON DELETE CASCADE,
    title       varchar(255) NOT NULL,
    description text,
    tags        text[],
    is_public   boolean DEFAULT false,
    share_token varchar(255) CONSTRAINT saved_prompts_share_token_key UNIQUE,
    view_count  integer DEFAULT 0,
    created_at  timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at  timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_saved_prompts_user_id ON prompts.saved_prompts (user_id);
CREATE TRIGGER saved_prompts_set_updated_at BEFORE UPDATE ON prompts.saved_prompts
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE prompts.collections (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    name        varchar(255) NOT NULL,
    description text,
    color       varchar(7) CONSTRAINT collections_color_check CHECK (color ~ '^#[0-9a-fA-F]{6}$'),
    icon        varchar(50),
    is_public   boolean DEFAULT false,
    share_token varchar(255) CONSTRAINT collections_share_token_key UNIQUE,
    created_at  timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at  timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_collections_user_id ON prompts.collections (user_id);
CREATE TRIGGER collections_set_updated_at BEFORE UPDATE ON prompts.collections
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE prompts.collection_prompts (
    collection_id   uuid NOT NULL REFERENCES prompts.collections (id) ON DELETE CASCADE,
    saved_prompt_id uuid NOT NULL REFERENCES prompts.saved_prompts (id) ON DELETE CASCADE,
    position        integer DEFAULT 0,
    added_at        timestamptz DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (collection_id, saved_prompt_id)
);
CREATE INDEX idx_collection_prompts_saved ON prompts.collection_prompts (saved_prompt_id);

CREATE TABLE prompts.embeddings (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    source_type   varchar(50) NOT NULL
        CONSTRAINT embeddings_source_type_check
        CHECK (source_type IN ('prompt_history', 'saved_prompt', 'template')),
    source_id     uuid NOT NULL,
    embedding     vector(768),
    model_version varchar(50),
    created_at    timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT embeddings_source_unique UNIQUE (source_type, source_id)
);
-- HNSW, unlike the original IVFFlat, needs no training data: it is useful
-- from the first row instead of being built on an empty table.
CREATE INDEX idx_embeddings_hnsw ON prompts.embeddings USING hnsw (embedding vector_cosine_ops);
