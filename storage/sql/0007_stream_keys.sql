-- Stream keys (docs/streaming.md): one performer may publish one named stream on one stage until
-- `expires_at` (epoch seconds) unless revoked. The secret is never stored: it is signed by the
-- hub's key, and only a SHA-256 of its random part is kept, so a dump rebuilds no secret.
CREATE TABLE stream_keys (
    id TEXT PRIMARY KEY,
    stage_id BIGINT NOT NULL REFERENCES stages (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL DEFAULT '',
    nonce_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    created_at {timestamp} NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX stream_keys_by_stage ON stream_keys (stage_id, user_id);
CREATE INDEX stream_keys_by_expiry ON stream_keys (expires_at);
