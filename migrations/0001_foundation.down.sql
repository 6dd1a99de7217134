-- The `vector` extension stays: it belongs to the superuser that created it
-- and other databases cloned from template1 use it.
DROP FUNCTION IF EXISTS public.set_updated_at();
DROP SCHEMA IF EXISTS analytics;
DROP SCHEMA IF EXISTS prompts;
DROP SCHEMA IF EXISTS auth;
