-- Revert 0012.
ALTER TABLE auth.sessions DROP COLUMN ended_at;
