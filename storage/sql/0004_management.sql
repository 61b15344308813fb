-- Management: per-user upload limits, stage covers, media with ordered frames and their stage
-- assignments (toolbar order), revoked refresh tokens. Site texts live in hub_meta.
ALTER TABLE users ADD COLUMN upload_limit BIGINT;

ALTER TABLE stages ADD COLUMN cover TEXT;

CREATE TABLE media (
    id {serial},
    owner_id BIGINT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    mime TEXT NOT NULL,
    size BIGINT NOT NULL,
    copyright_level INTEGER NOT NULL DEFAULT 0,
    voice {json},
    link {json},
    created_at {timestamp} NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX media_by_owner ON media (owner_id);

-- A media item's files in frame order; a file (content-addressed) may serve several items.
CREATE TABLE media_frames (
    media_id BIGINT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    file TEXT NOT NULL,
    PRIMARY KEY (media_id, position)
);

CREATE INDEX media_frames_by_file ON media_frames (file);

CREATE TABLE stage_media (
    stage_id BIGINT NOT NULL REFERENCES stages (id) ON DELETE CASCADE,
    media_id BIGINT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (stage_id, media_id)
);

CREATE INDEX stage_media_by_media ON stage_media (media_id);

CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
