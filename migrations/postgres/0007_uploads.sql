-- Resumable uploads (tus): one row per upload, its parts' object keys in order (the bytes are in
-- the blob store under uploads/{id}/, so any node can continue an upload), the asset it became
-- once complete. Rows are swept with their parts after `expires_at` (see `service::resumable`).
CREATE TABLE uploads (
    id            TEXT    PRIMARY KEY,
    tenant        TEXT    NOT NULL,
    asset_type    TEXT    NOT NULL,
    name          TEXT,
    length        BIGINT NOT NULL,
    upload_offset BIGINT NOT NULL DEFAULT 0,
    parts         TEXT    NOT NULL DEFAULT '',
    asset_id      TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);

CREATE INDEX uploads_by_expiry ON uploads (expires_at);
