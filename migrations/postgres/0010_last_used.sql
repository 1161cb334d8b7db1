-- When a generation task last referenced each asset (resolved or forwarded): the clock of the
-- per-tenant expiry policy's `unused_days`.
ALTER TABLE assets ADD COLUMN last_used_at BIGINT;
