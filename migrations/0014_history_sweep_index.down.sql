-- no-transaction
-- Revert 0014.
DROP INDEX CONCURRENTLY IF EXISTS prompts.idx_history_sweep;
