-- Live assets per (tenant, type, status), kept by triggers, so a list's total is a sum of a few
-- rows instead of a count over the whole library.

CREATE TABLE asset_counts (
    tenant     TEXT    NOT NULL,
    asset_type TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (tenant, asset_type, status)
);

INSERT INTO asset_counts (tenant, asset_type, status, n)
SELECT tenant, asset_type, status, COUNT(*) FROM assets WHERE deleted_at IS NULL
GROUP BY tenant, asset_type, status;

CREATE TRIGGER assets_count_insert AFTER INSERT ON assets WHEN NEW.deleted_at IS NULL
BEGIN
    INSERT INTO asset_counts (tenant, asset_type, status, n)
    VALUES (NEW.tenant, NEW.asset_type, NEW.status, 1)
    ON CONFLICT (tenant, asset_type, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER assets_count_update AFTER UPDATE OF tenant, asset_type, status, deleted_at ON assets
BEGIN
    UPDATE asset_counts SET n = n - 1
    WHERE OLD.deleted_at IS NULL
      AND tenant = OLD.tenant AND asset_type = OLD.asset_type AND status = OLD.status;
    INSERT INTO asset_counts (tenant, asset_type, status, n)
    SELECT NEW.tenant, NEW.asset_type, NEW.status, 1 WHERE NEW.deleted_at IS NULL
    ON CONFLICT (tenant, asset_type, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER assets_count_delete AFTER DELETE ON assets WHEN OLD.deleted_at IS NULL
BEGIN
    UPDATE asset_counts SET n = n - 1
    WHERE tenant = OLD.tenant AND asset_type = OLD.asset_type AND status = OLD.status;
END;
