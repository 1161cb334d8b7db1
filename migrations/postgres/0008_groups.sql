-- Groups: a tenant's named folders of assets. An asset names at most one group (`group_id`);
-- a group is deleted only when no live asset is in it, or together with them (`cascade`).
CREATE TABLE asset_groups (
    id          TEXT    PRIMARY KEY,
    tenant      TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    name_folded TEXT    NOT NULL,
    description TEXT,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

CREATE INDEX asset_groups_by_tenant ON asset_groups (tenant, created_at);

ALTER TABLE assets ADD COLUMN group_id TEXT;

CREATE INDEX assets_by_group ON assets (tenant, group_id, seq)
    WHERE group_id IS NOT NULL AND deleted_at IS NULL;
