-- The media library the original had: tags, dormant media (hidden from toolboxes and assigning,
-- kept for replays), grants (shared by the owner, or a permission request approved) and the
-- permission requests themselves (at most one pending per user and medium).
ALTER TABLE media ADD COLUMN dormant BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE media_tags (
    media_id BIGINT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (media_id, tag)
);

CREATE INDEX media_tags_by_tag ON media_tags (tag);

-- kind: 'share' (the owner chose the user) or 'permission' (the owner approved a request).
CREATE TABLE media_grants (
    media_id BIGINT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created_at {timestamp} NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (media_id, user_id, kind)
);

CREATE INDEX media_grants_by_user ON media_grants (user_id);

-- status: pending, approved or refused.
CREATE TABLE media_requests (
    id {serial},
    media_id BIGINT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    note TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending',
    created_at {timestamp} NOT NULL DEFAULT CURRENT_TIMESTAMP,
    answered_at {timestamp}
);

CREATE UNIQUE INDEX media_requests_one_pending ON media_requests (media_id, user_id) WHERE status = 'pending';
CREATE INDEX media_requests_by_user ON media_requests (user_id);
