-- Assets, their processing jobs, API keys and generation tasks. Times are Unix milliseconds (UTC).

CREATE TABLE assets (
    seq             BIGSERIAL PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    tenant          TEXT    NOT NULL,
    name            TEXT,
    asset_type      TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    sha256          TEXT    NOT NULL,
    bytes           BIGINT  NOT NULL,
    format          TEXT,
    facts           TEXT    NOT NULL DEFAULT '{}',
    status          TEXT    NOT NULL,
    failure_code    TEXT,
    failure_message TEXT,
    moderation      TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    deleted_at      BIGINT
);

CREATE INDEX assets_by_tenant ON assets (tenant, seq) WHERE deleted_at IS NULL;
CREATE INDEX assets_by_sha256 ON assets (sha256);
CREATE INDEX assets_pending_review ON assets (seq) WHERE status = 'PendingReview' AND deleted_at IS NULL;

CREATE TABLE jobs (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT    NOT NULL,
    asset_id     TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('queued', 'running')),
    attempts     BIGINT  NOT NULL DEFAULT 0,
    max_attempts BIGINT  NOT NULL,
    run_at       BIGINT  NOT NULL,
    lease_owner  TEXT,
    lease_until  BIGINT,
    last_error   TEXT,
    created_at   BIGINT  NOT NULL
);

CREATE INDEX jobs_by_due ON jobs (state, run_at);

CREATE TABLE api_keys (
    id         TEXT   PRIMARY KEY,
    key_hash   TEXT   NOT NULL UNIQUE,
    tenant     TEXT   NOT NULL,
    role       TEXT   NOT NULL CHECK (role IN ('tenant', 'reviewer', 'admin')),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE tasks (
    id         TEXT   PRIMARY KEY,
    tenant     TEXT   NOT NULL,
    status     TEXT   NOT NULL,
    finished   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE task_assets (
    task_id  TEXT NOT NULL REFERENCES tasks (id),
    asset_id TEXT NOT NULL,
    PRIMARY KEY (task_id, asset_id)
);

CREATE INDEX task_assets_by_asset ON task_assets (asset_id);
