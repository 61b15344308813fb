-- Refresh-token rotation: one row per login ("family"). Only `current_jti` may be refreshed;
-- it then becomes `previous_jti` (kept for the reuse grace) and a new token is current.
-- Presenting any other token of the family revokes it. Rows go once `expires_at` (s) passed.
CREATE TABLE refresh_families (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    current_jti TEXT NOT NULL,
    previous_jti TEXT,
    rotated_at BIGINT NOT NULL DEFAULT 0,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at BIGINT NOT NULL
);

CREATE INDEX refresh_families_by_expiry ON refresh_families (expires_at);
