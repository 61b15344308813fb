-- A password change ends every session of the account: tokens signed before this moment (ms)
-- are refused.
ALTER TABLE users ADD COLUMN sessions_after BIGINT NOT NULL DEFAULT 0;
