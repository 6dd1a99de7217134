-- no-transaction
-- Migration: the embedding sweep's index
-- Version: 0014
-- Description: the embedding writer pages through signed-in history rows
-- in (created_at, id) order to find rows without an embedding; without
-- this index every page would scan the whole history. Built concurrently,
-- so writes go on while it builds.

CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_history_sweep
    ON prompts.history ((coalesce(created_at, 'epoch'::timestamptz)), id)
    WHERE user_id IS NOT NULL;
