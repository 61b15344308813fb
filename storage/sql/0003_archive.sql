-- The event archive: each stage's live log, performances (sweeps, recordings, trims) and their
-- events, the periodic snapshot of each stage's live state, and hub-wide flags.

-- The live (not yet archived) log; keyed by stage id and seq, no foreign key (see decisions.md).
CREATE TABLE events (
    stage_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    topic TEXT NOT NULL,
    payload {json} NOT NULL,
    at BIGINT NOT NULL,
    sender {json} NOT NULL,
    audience TEXT NOT NULL DEFAULT 'everyone',
    target_session TEXT,
    PRIMARY KEY (stage_id, seq)
);

CREATE TABLE performances (
    id {serial},
    stage_id BIGINT REFERENCES stages (id) ON DELETE SET NULL,
    stage_slug TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    recording BOOLEAN NOT NULL DEFAULT FALSE,
    start_seq BIGINT NOT NULL DEFAULT 0,
    started_at BIGINT NOT NULL,
    saved_at BIGINT,
    created_at {timestamp} NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX performances_by_stage ON performances (stage_id, id);

-- At most one open recording per stage.
CREATE UNIQUE INDEX performances_one_open_recording ON performances (stage_id) WHERE recording;

CREATE TABLE performance_events (
    performance_id BIGINT NOT NULL REFERENCES performances (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    topic TEXT NOT NULL,
    payload {json} NOT NULL,
    at BIGINT NOT NULL,
    sender {json} NOT NULL,
    audience TEXT NOT NULL DEFAULT 'everyone',
    target_session TEXT,
    PRIMARY KEY (performance_id, seq)
);

CREATE TABLE snapshots (
    stage_id BIGINT PRIMARY KEY,
    epoch TEXT NOT NULL,
    seq BIGINT NOT NULL,
    state {json} NOT NULL,
    at BIGINT NOT NULL
);

CREATE TABLE hub_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
