DROP TABLE IF EXISTS auth.audit_log;
DROP TABLE IF EXISTS auth.user_preferences;
DROP TABLE IF EXISTS auth.api_keys;
DROP TABLE IF EXISTS auth.sessions;
DROP TABLE IF EXISTS auth.users;
