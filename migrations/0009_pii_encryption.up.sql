-- Migration: PII encryption at rest
-- Version: 0009
-- Description: names, email addresses, client addresses and user agents are
-- stored as AES-256-GCM envelopes (`enc:v1:<key id>:<base64>`, see
-- bp-store's crypto module), so their columns lose the length limits that
-- fitted the plaintext (varchar(n) to varchar is a catalog-only change; the
-- service still checks the plaintext lengths). The email stays unique and
-- findable through a keyed blind index, email_bidx (hex HMAC-SHA-256 of the
-- lower-cased address), which replaces the index on lower(email) under the
-- same name. Encrypting rows that exist needs the keys, so it is not SQL:
-- `betterprompts migrate up` runs `keys rotate` after this file, which seals
-- every plaintext value and fills email_bidx.

ALTER TABLE auth.users
    ALTER COLUMN email TYPE varchar,
    ALTER COLUMN first_name TYPE varchar,
    ALTER COLUMN last_name TYPE varchar,
    ADD COLUMN email_bidx varchar(64);
DROP INDEX auth.users_email_key;
CREATE UNIQUE INDEX users_email_key ON auth.users (email_bidx);

ALTER TABLE auth.sessions ALTER COLUMN ip_address TYPE varchar;
ALTER TABLE analytics.user_activity ALTER COLUMN ip_address TYPE varchar;
