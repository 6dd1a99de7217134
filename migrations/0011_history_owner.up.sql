-- Migration: who owns a history item, past row-level security
-- Version: 0011
-- Description: the API answers 403 (not 404) for another user's history
-- item. Under row security (BP_DB_ROW_SECURITY) bp_app cannot see that row
-- at all, so this SECURITY DEFINER function, owned by the migrating role
-- (which bypasses row security), tells only the owner's id of one item and
-- nothing else of it. bp_app may call it; nobody else is granted it.

CREATE FUNCTION public.bp_history_owner(item uuid) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT user_id FROM prompts.history WHERE id = item $$;

REVOKE ALL ON FUNCTION public.bp_history_owner(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.bp_history_owner(uuid) TO bp_app;
