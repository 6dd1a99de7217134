-- Migration: access tokens outlive a normal refresh
-- Version: 0012
-- Description: a refresh rotates the session (revoked_at + replaced_by), but
-- the access token issued before it stays valid until it expires, so that
-- requests in flight and other tabs keep working. Ending a session family
-- (logout, password change, refresh-token reuse, deactivation, role change)
-- sets ended_at on every session of the family: from then on no access
-- token of that family is honoured, rotated or not.

ALTER TABLE auth.sessions ADD COLUMN ended_at timestamptz;

-- Families ended before this migration have no live member: mark them
-- ended, so that their rotated sessions' access tokens stay refused.
UPDATE auth.sessions SET ended_at = COALESCE(revoked_at, now())
WHERE family_id IN (SELECT family_id FROM auth.sessions GROUP BY family_id
                    HAVING bool_and(revoked_at IS NOT NULL));
