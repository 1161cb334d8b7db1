-- Assets, their processing jobs and API keys. Times are Unix milliseconds (UTC).

CREATE TABLE assets (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    tenant          TEXT    NOT NULL,
    name            TEXT,
    asset_type      TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    sha256          TEXT    NOT NULL,
    bytes           INTEGER NOT NULL,
    format          TEXT,
    facts           TEXT    NOT NULL DEFAULT '{}',
    status          TEXT    NOT NULL,
    failure_code    TEXT,
    failure_message TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    deleted_at      INTEGER
);

CREATE INDEX assets_by_tenant ON assets (tenant, seq) WHERE deleted_at IS NULL;
CREATE INDEX assets_by_sha256 ON assets (sha256);

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL,
    asset_id     TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('queued', 'running')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       INTEGER NOT NULL,
    lease_owner  TEXT,
    lease_until  INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL
);

CREATE INDEX jobs_by_due ON jobs (state, run_at);

CREATE TABLE api_keys (
    id         TEXT    PRIMARY KEY,
    key_hash   TEXT    NOT NULL UNIQUE,
    tenant     TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('tenant', 'reviewer', 'admin')),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
