-- Migration: session families
-- Version: 0006
-- Description: refresh-token rotation with reuse detection. Every rotation
-- revokes the old session and inserts its successor in the same family; a
-- revoked refresh token presented again reveals theft, and the whole family
-- is revoked.

ALTER TABLE auth.sessions
    ADD COLUMN family_id   uuid NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN revoked_at  timestamptz,
    ADD COLUMN replaced_by uuid REFERENCES auth.sessions (id) ON DELETE SET NULL;
CREATE INDEX idx_sessions_family_id ON auth.sessions (family_id);
