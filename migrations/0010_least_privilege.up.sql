-- Migration: least privilege and row-level security
-- Version: 0010
-- Description: `bp_app` (NOLOGIN) holds what the service needs and nothing
-- more: DML on the three schemas, no DDL (it owns nothing), no TRUNCATE, and
-- only SELECT and INSERT on auth.audit_log, which is append-only for it. The
-- service's login role is made a member (`GRANT bp_app TO <login>`);
-- migrations, `keys rotate`, `db prune-audit`, backup and restore run as the
-- owner. Roles are per cluster: `infra up` creates bp_app as the superuser
-- (elsewhere a superuser runs `CREATE ROLE bp_app NOLOGIN` once, or the
-- migrating role has CREATEROLE), and the down migration leaves it in place.
--
-- Row-level security on the per-user tables, as defence in depth under the
-- application's own `WHERE user_id = $n`: when a transaction sets
-- `bp.user_id` (`SET LOCAL bp.user_id = '<uuid>'`), bp_app sees and writes
-- only that user's rows; unset, it is not restricted (service jobs, admin
-- routes). Owners bypass RLS.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bp_app') THEN
        BEGIN
            CREATE ROLE bp_app NOLOGIN;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'role bp_app does not exist and the migrating role may not create it; run `CREATE ROLE bp_app NOLOGIN` as a superuser first (betterprompts infra up does this for the embedded instance)';
        END;
    END IF;
END $$;

GRANT USAGE ON SCHEMA auth, prompts, analytics TO bp_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA auth, prompts, analytics TO bp_app;
REVOKE UPDATE, DELETE ON auth.audit_log FROM bp_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA auth, prompts, analytics TO bp_app;
-- The service checks that no migration is pending.
GRANT SELECT ON public._sqlx_migrations TO bp_app;

-- True when no user scope is set, or `owner` is the scoped user. STABLE
-- and SQL, so the planner inlines it into each policy.
CREATE FUNCTION public.bp_row_visible(owner uuid) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT coalesce(current_setting('bp.user_id', true), '') = ''
            OR owner = nullif(current_setting('bp.user_id', true), '')::uuid
    $$;

ALTER TABLE prompts.history ENABLE ROW LEVEL SECURITY;
CREATE POLICY history_owner ON prompts.history TO bp_app
    USING (public.bp_row_visible(user_id)) WITH CHECK (public.bp_row_visible(user_id));
ALTER TABLE prompts.saved_prompts ENABLE ROW LEVEL SECURITY;
CREATE POLICY saved_prompts_owner ON prompts.saved_prompts TO bp_app
    USING (public.bp_row_visible(user_id)) WITH CHECK (public.bp_row_visible(user_id));
ALTER TABLE prompts.collections ENABLE ROW LEVEL SECURITY;
CREATE POLICY collections_owner ON prompts.collections TO bp_app
    USING (public.bp_row_visible(user_id)) WITH CHECK (public.bp_row_visible(user_id));
ALTER TABLE auth.user_preferences ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_preferences_owner ON auth.user_preferences TO bp_app
    USING (public.bp_row_visible(user_id)) WITH CHECK (public.bp_row_visible(user_id));
ALTER TABLE auth.sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY sessions_owner ON auth.sessions TO bp_app
    USING (public.bp_row_visible(user_id)) WITH CHECK (public.bp_row_visible(user_id));
ALTER TABLE auth.api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_keys_owner ON auth.api_keys TO bp_app
    USING (public.bp_row_visible(user_id)) WITH CHECK (public.bp_row_visible(user_id));
