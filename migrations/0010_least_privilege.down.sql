-- Revert 0010. The role stays: roles belong to the cluster, and another
-- database may still use it.
DROP POLICY api_keys_owner ON auth.api_keys;
ALTER TABLE auth.api_keys DISABLE ROW LEVEL SECURITY;
DROP POLICY sessions_owner ON auth.sessions;
ALTER TABLE auth.sessions DISABLE ROW LEVEL SECURITY;
DROP POLICY user_preferences_owner ON auth.user_preferences;
ALTER TABLE auth.user_preferences DISABLE ROW LEVEL SECURITY;
DROP POLICY collections_owner ON prompts.collections;
ALTER TABLE prompts.collections DISABLE ROW LEVEL SECURITY;
DROP POLICY saved_prompts_owner ON prompts.saved_prompts;
ALTER TABLE prompts.saved_prompts DISABLE ROW LEVEL SECURITY;
DROP POLICY history_owner ON prompts.history;
ALTER TABLE prompts.history DISABLE ROW LEVEL SECURITY;
DROP FUNCTION public.bp_row_visible(uuid);

REVOKE SELECT ON public._sqlx_migrations FROM bp_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA auth, prompts, analytics FROM bp_app;
REVOKE ALL ON ALL TABLES IN SCHEMA auth, prompts, analytics FROM bp_app;
REVOKE USAGE ON SCHEMA auth, prompts, analytics FROM bp_app;
