-- Password reset links (docs/security.md): one row per link mailed. The token itself is never
-- stored, only its SHA-256, so a database dump opens no account. A link works once
-- (`used_at` set), until `expires_at` (epoch seconds); using one voids the user's other links.
-- No foreign key on purpose: a link for a deleted user is kept and refused by name, not as unknown.
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at {timestamp} NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX password_resets_by_user ON password_resets (user_id);
CREATE INDEX password_resets_by_expiry ON password_resets (expires_at)
