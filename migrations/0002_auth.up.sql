-- Migration: auth schema
-- Version: 0002
-- Description: users, sessions, api_keys, user_preferences and the audit log.

CREATE TABLE auth.users (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email                  varchar(255) NOT NULL,
    username               varchar(100) NOT NULL,
    password_hash          varchar(255) NOT NULL,
    first_name             varchar(100),
    last_name              varchar(100),
    avatar_url             varchar(500),
    is_active              boolean DEFAULT true,
    is_verified            boolean DEFAULT false,
    email_verify_token     varchar(255),
    email_verify_expires   timestamptz,
    password_reset_token   varchar(255),
    password_reset_expires timestamptz,
    role                   varchar(50) DEFAULT 'user'
        CONSTRAINT users_role_check CHECK (role IN ('user', 'developer', 'admin')),
    tier                   varchar(50) DEFAULT 'free'
        CONSTRAINT users_tier_check CHECK (tier IN ('free', 'pro', 'enterprise')),
    preferences            jsonb DEFAULT '{}',
    metadata               jsonb DEFAULT '{}',
    last_login_at          timestamptz,
    failed_login_attempts  integer DEFAULT 0,
    locked_until           timestamptz,
    created_at             timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at             timestamptz DEFAULT CURRENT_TIMESTAMP
);
-- Case-insensitive uniqueness; the names match the original UNIQUE constraints
-- so callers mapping `users_email_key` / `users_username_key` keep working.
CREATE UNIQUE INDEX users_email_key ON auth.users (lower(email));
CREATE UNIQUE INDEX users_username_key ON auth.users (lower(username));
CREATE INDEX idx_users_role ON auth.users (role);
CREATE INDEX idx_users_tier ON auth.users (tier);
CREATE INDEX idx_users_created_at ON auth.users (created_at);
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON auth.users
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE auth.sessions (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    token_hash         varchar(255) NOT NULL CONSTRAINT sessions_token_hash_key UNIQUE,
    refresh_token_hash varchar(255) NOT NULL CONSTRAINT sessions_refresh_token_hash_key UNIQUE,
    user_agent         text,
    ip_address         varchar(45),
    expires_at         timestamptz NOT NULL,
    last_activity      timestamptz DEFAULT CURRENT_TIMESTAMP,
    created_at         timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_sessions_user_id ON auth.sessions (user_id);
CREATE INDEX idx_sessions_expires_at ON auth.sessions (expires_at);

CREATE TABLE auth.api_keys (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    name              varchar(255) NOT NULL,
    -- The UNIQUE constraint's index serves lookups by hash.
    key_hash          varchar(255) NOT NULL CONSTRAINT api_keys_key_hash_key UNIQUE,
    scopes            text[],
    rate_limit        integer DEFAULT 1000 CONSTRAINT api_keys_rate_limit_check CHECK (rate_limit > 0),
    rate_limit_window varchar(50) DEFAULT '1h',
    usage_count       integer DEFAULT 0,
    last_used_at      timestamptz,
    expires_at        timestamptz,
    is_active         boolean DEFAULT true,
    created_at        timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at        timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_api_keys_user_id ON auth.api_keys (user_id);
CREATE TRIGGER api_keys_set_updated_at BEFORE UPDATE ON auth.api_keys
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE auth.user_preferences (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id               uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE
        CONSTRAINT user_preferences_user_id_key UNIQUE,
    preferred_techniques  text[],
    excluded_techniques   text[],
    complexity_preference varchar(50)
        CONSTRAINT user_preferences_complexity_check
        CHECK (complexity_preference IN ('simple', 'moderate', 'complex')),
    ui_theme              varchar(50) DEFAULT 'light',
    ui_language           varchar(10) DEFAULT 'en',
    email_notifications   boolean DEFAULT true,
    analytics_opt_in      boolean DEFAULT true,
    custom_settings       jsonb DEFAULT '{}',
    created_at            timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at            timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE TRIGGER user_preferences_set_updated_at BEFORE UPDATE ON auth.user_preferences
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Who did what, to what, when, from where, with what outcome. Rows are only
-- ever inserted (the security issue revokes UPDATE/DELETE from the app role).
CREATE TABLE auth.audit_log (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    occurred_at      timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    actor_user_id    uuid REFERENCES auth.users (id) ON DELETE SET NULL,
    actor_api_key_id uuid REFERENCES auth.api_keys (id) ON DELETE SET NULL,
    actor_role       varchar(50),
    action           varchar(100) NOT NULL,
    target_table     varchar(100),
    target_id        varchar(255),
    ip_address       text,
    user_agent       text,
    request_id       varchar(128),
    outcome          varchar(20) NOT NULL DEFAULT 'success'
        CONSTRAINT audit_log_outcome_check CHECK (outcome IN ('success', 'failure', 'denied')),
    details          jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_audit_log_occurred_at ON auth.audit_log (occurred_at DESC);
CREATE INDEX idx_audit_log_actor ON auth.audit_log (actor_user_id, occurred_at DESC);
CREATE INDEX idx_audit_log_action ON auth.audit_log (action, occurred_at DESC);
