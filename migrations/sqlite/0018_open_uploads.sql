-- The open uploads of a tenant (not yet an asset) are counted against its quota on every upload:
-- an index over just those.
CREATE INDEX uploads_open_by_tenant ON uploads (tenant) WHERE asset_id IS NULL;
