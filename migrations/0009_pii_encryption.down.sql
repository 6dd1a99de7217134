-- Revert 0009: only when no encrypted value is left (`betterprompts keys
-- decrypt` turns them back into plaintext); otherwise the narrow columns
-- could not hold them and the data would be unreadable without the keys.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM auth.users
               WHERE email LIKE 'enc:%' OR first_name LIKE 'enc:%' OR last_name LIKE 'enc:%')
       OR EXISTS (SELECT 1 FROM auth.sessions WHERE ip_address LIKE 'enc:%' OR user_agent LIKE 'enc:%')
       OR EXISTS (SELECT 1 FROM analytics.user_activity WHERE ip_address LIKE 'enc:%' OR user_agent LIKE 'enc:%')
       OR EXISTS (SELECT 1 FROM auth.audit_log WHERE ip_address LIKE 'enc:%' OR user_agent LIKE 'enc:%')
       OR EXISTS (SELECT 1 FROM prompts.history WHERE feedback_text LIKE 'enc:%')
    THEN
        RAISE EXCEPTION 'encrypted values remain; run `betterprompts keys decrypt` before migrating below 0009';
    END IF;
END $$;

ALTER TABLE analytics.user_activity ALTER COLUMN ip_address TYPE varchar(45);
ALTER TABLE auth.sessions ALTER COLUMN ip_address TYPE varchar(45);

DROP INDEX auth.users_email_key;
CREATE UNIQUE INDEX users_email_key ON auth.users (lower(email));
ALTER TABLE auth.users
    DROP COLUMN email_bidx,
    ALTER COLUMN last_name TYPE varchar(100),
    ALTER COLUMN first_name TYPE varchar(100),
    ALTER COLUMN email TYPE varchar(255);
