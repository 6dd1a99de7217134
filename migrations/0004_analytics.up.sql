-- Migration: analytics schema
-- Version: 0004
-- Description: technique_effectiveness, user_activity, daily_stats, api_metrics.

CREATE TABLE analytics.technique_effectiveness (
    id                         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    technique                  varchar(100) NOT NULL,
    intent                     varchar(100) NOT NULL,
    success_count              integer DEFAULT 0,
    total_count                integer DEFAULT 0,
    average_feedback           float,
    average_processing_time_ms float,
    p95_processing_time_ms     float,
    metadata                   jsonb DEFAULT '{}',
    date                       date NOT NULL DEFAULT CURRENT_DATE,
    updated_at                 timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT technique_effectiveness_technique_intent_date_key UNIQUE (technique, intent, date),
    CONSTRAINT technique_effectiveness_counts_check
        CHECK (success_count >= 0 AND total_count >= 0 AND success_count <= total_count)
);
-- The UNIQUE (technique, intent, date) index also serves (technique, intent) lookups.
CREATE INDEX idx_technique_effectiveness_date ON analytics.technique_effectiveness (date DESC);
CREATE TRIGGER technique_effectiveness_set_updated_at BEFORE UPDATE ON analytics.technique_effectiveness
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TABLE analytics.user_activity (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    activity_type varchar(100) NOT NULL,
    activity_data jsonb DEFAULT '{}',
    session_id    varchar(255),
    ip_address    varchar(45),
    user_agent    text,
    created_at    timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_user_activity_user_id ON analytics.user_activity (user_id);
CREATE INDEX idx_user_activity_type ON analytics.user_activity (activity_type);
CREATE INDEX idx_user_activity_created_at ON analytics.user_activity (created_at DESC);

CREATE TABLE analytics.daily_stats (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    date                     date NOT NULL CONSTRAINT daily_stats_date_key UNIQUE,
    total_requests           integer DEFAULT 0,
    unique_users             integer DEFAULT 0,
    new_users                integer DEFAULT 0,
    total_enhancements       integer DEFAULT 0,
    average_response_time_ms float,
    error_count              integer DEFAULT 0,
    by_technique             jsonb DEFAULT '{}',
    by_intent                jsonb DEFAULT '{}',
    by_hour                  jsonb DEFAULT '{}',
    created_at               timestamptz DEFAULT CURRENT_TIMESTAMP
);
-- The UNIQUE (date) index serves date-ordered scans in either direction.

CREATE TABLE analytics.api_metrics (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_key_id          uuid REFERENCES auth.api_keys (id) ON DELETE SET NULL,
    endpoint            varchar(255) NOT NULL,
    method              varchar(10) NOT NULL,
    status_code         integer,
    response_time_ms    integer,
    request_size_bytes  integer,
    response_size_bytes integer,
    error_message       text,
    created_at          timestamptz DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_api_metrics_created_at ON analytics.api_metrics (created_at DESC);
CREATE INDEX idx_api_metrics_api_key ON analytics.api_metrics (api_key_id, created_at DESC);
