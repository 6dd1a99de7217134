-- Migration: search indexes
-- Version: 0007
-- Description: full-text index for finding similar intent patterns. The
-- bundled PostgreSQL has no pg_trgm, so similarity is full-text search on
-- every server.

CREATE INDEX idx_intent_patterns_fts ON prompts.intent_patterns
    USING gin (to_tsvector('english', normalized_pattern));
