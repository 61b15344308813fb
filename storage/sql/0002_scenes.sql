-- Saved scenes: a named snapshot of a stage's board, backdrop, settings and audio.
CREATE TABLE scenes (
    id {serial},
    stage_id BIGINT NOT NULL REFERENCES stages (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    payload {json} NOT NULL,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at {timestamp} NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX scenes_by_stage ON scenes (stage_id, active);
