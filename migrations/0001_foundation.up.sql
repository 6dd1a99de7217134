-- Migration: foundation
-- Version: 0001
-- Description: pgvector, the three schemas and the shared updated_at trigger function.

-- `vector` is not a trusted extension: on the embedded instance the bootstrap
-- (superuser) has already created it in template1 and the application database,
-- so this is a no-op there; on another server a superuser runs it once.
CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;

CREATE SCHEMA IF NOT EXISTS auth;
CREATE SCHEMA IF NOT EXISTS prompts;
CREATE SCHEMA IF NOT EXISTS analytics;

CREATE FUNCTION public.set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at = CURRENT_TIMESTAMP;
    RETURN NEW;
END;
$$;
