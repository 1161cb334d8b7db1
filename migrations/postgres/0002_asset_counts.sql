-- Live assets per (tenant, type, status), kept by a trigger, so a list's total is a sum of a few
-- rows instead of a count over the whole library. Status changes only move forward
-- (Processing → PendingReview → Active | Failed), so concurrent updates of these rows always
-- lock them in the same order.

CREATE TABLE asset_counts (
    tenant     TEXT   NOT NULL,
    asset_type TEXT   NOT NULL,
    status     TEXT   NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (tenant, asset_type, status)
);

INSERT INTO asset_counts (tenant, asset_type, status, n)
SELECT tenant, asset_type, status, COUNT(*) FROM assets WHERE deleted_at IS NULL
GROUP BY tenant, asset_type, status;

CREATE FUNCTION assetlib_count_assets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL THEN
        UPDATE asset_counts SET n = n - 1
        WHERE tenant = OLD.tenant AND asset_type = OLD.asset_type AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.deleted_at IS NULL THEN
        INSERT INTO asset_counts (tenant, asset_type, status, n)
        VALUES (NEW.tenant, NEW.asset_type, NEW.status, 1)
        ON CONFLICT (tenant, asset_type, status) DO UPDATE SET n = asset_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER assets_count
AFTER INSERT OR UPDATE OF tenant, asset_type, status, deleted_at OR DELETE ON assets
FOR EACH ROW EXECUTE FUNCTION assetlib_count_assets();
