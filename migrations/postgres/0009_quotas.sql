-- Quotas an admin set at run time, per tenant (`NULL`: no limit); they replace the
-- configuration file's quota of that tenant. The index serves the per-minute upload count.
CREATE TABLE tenant_quotas (
    tenant             TEXT    PRIMARY KEY,
    max_assets         BIGINT,
    max_bytes          BIGINT,
    uploads_per_minute BIGINT,
    updated_at         BIGINT NOT NULL
);

CREATE INDEX assets_by_tenant_created ON assets (tenant, created_at);
