-- The request that created each job (its x-request-id), carried into the job's log lines.
ALTER TABLE jobs ADD COLUMN request_id TEXT;
