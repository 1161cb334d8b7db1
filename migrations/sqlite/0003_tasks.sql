-- Generation tasks forwarded to the upstream, and the assets each references.
CREATE TABLE tasks (
    id         TEXT    PRIMARY KEY,
    tenant     TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    finished   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE task_assets (
    task_id  TEXT NOT NULL REFERENCES tasks (id),
    asset_id TEXT NOT NULL,
    PRIMARY KEY (task_id, asset_id)
);

CREATE INDEX task_assets_by_asset ON task_assets (asset_id);
