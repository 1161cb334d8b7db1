-- Fair scheduling across tenants: each job carries its tenant and its place in the fair order
-- (`fair_at`, Unix ms): a tenant's next job queues one slice after its last queued one, or now.
ALTER TABLE jobs ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN fair_at INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET
    tenant = COALESCE((SELECT tenant FROM assets WHERE assets.id = jobs.asset_id), ''),
    fair_at = run_at;
CREATE INDEX jobs_by_fair ON jobs (fair_at, id);
CREATE INDEX jobs_by_tenant ON jobs (tenant, fair_at);
