-- Idempotency-Key: the first answer to a creating call, kept per tenant and key so a retry
-- gets it again instead of creating twice (see `service::idempotency`). A row is claimed
-- (`status` NULL) before the call runs and holds its answer once it has; a claim whose node
-- died is taken over after `locked_until`; rows are swept after `expires_at`.
CREATE TABLE idempotency_keys (
    tenant       TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    status       INTEGER,
    content_type TEXT,
    body         BLOB,
    created_at   INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant, key)
);

CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
