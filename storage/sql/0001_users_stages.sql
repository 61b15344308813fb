-- Users, stages and per-stage access lists.
CREATE TABLE users (
    id {serial},
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'player',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at {timestamp} NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE stages (
    id {serial},
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    owner_id BIGINT NOT NULL REFERENCES users (id),
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'live',
    visible BOOLEAN NOT NULL DEFAULT TRUE,
    config {json} NOT NULL DEFAULT '{}',
    created_at {timestamp} NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE stage_access (
    stage_id BIGINT NOT NULL REFERENCES stages (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    level TEXT NOT NULL,
    PRIMARY KEY (stage_id, user_id)
);
