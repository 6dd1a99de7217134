DROP INDEX IF EXISTS auth.idx_sessions_family_id;
ALTER TABLE auth.sessions
    DROP COLUMN IF EXISTS replaced_by,
    DROP COLUMN IF EXISTS revoked_at,
    DROP COLUMN IF EXISTS family_id;
