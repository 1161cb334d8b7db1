-- Webhooks: each tenant's endpoints, and one delivery row per (endpoint, event). The events are
-- written by triggers in the same transaction as the change they report, so an event is never
-- lost to a crash between the change and its announcement; a dispatcher on every node sends
-- due deliveries (claimed with a lease) and records each attempt.
CREATE TABLE webhooks (
    id         TEXT    PRIMARY KEY,
    tenant     TEXT    NOT NULL,
    url        TEXT    NOT NULL,
    secret     TEXT    NOT NULL,
    -- The subscribed event types, each between commas: ",asset.active,asset.failed,".
    events     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX webhooks_by_tenant ON webhooks (tenant);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      TEXT    NOT NULL,
    tenant          TEXT    NOT NULL,
    -- The same for every endpoint and every attempt of one event: receivers de-duplicate by it.
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    -- The asset or the task the event is about, its status then, and an asset's failure.
    subject_id      TEXT    NOT NULL,
    status          TEXT,
    failure_code    TEXT,
    failure_message TEXT,
    occurred_at     INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    response_status INTEGER,
    latency_ms      INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);

-- An asset settled (Active, Failed) or held for review.
CREATE TRIGGER webhook_asset_status AFTER UPDATE OF status ON assets
WHEN NEW.status <> OLD.status AND NEW.deleted_at IS NULL
     AND NEW.status IN ('Active', 'Failed', 'PendingReview')
BEGIN
    INSERT INTO webhook_deliveries (webhook_id, tenant, event_id, event_type, subject_id, status,
        failure_code, failure_message, occurred_at, next_attempt_at, created_at)
    SELECT w.id, NEW.tenant, 'evt-' || NEW.id || '-' || NEW.status || '-' || NEW.updated_at,
           CASE NEW.status WHEN 'Active' THEN 'asset.active'
                           WHEN 'Failed' THEN 'asset.failed' ELSE 'asset.held' END,
           NEW.id, NEW.status, NEW.failure_code, NEW.failure_message,
           NEW.updated_at, NEW.updated_at, NEW.updated_at
    FROM webhooks w
    WHERE w.tenant = NEW.tenant
      AND instr(w.events, ',' || CASE NEW.status WHEN 'Active' THEN 'asset.active'
                                     WHEN 'Failed' THEN 'asset.failed'
                                     ELSE 'asset.held' END || ',') > 0;
END;

-- An asset deleted (by its owner, with its group, or by expiry).
CREATE TRIGGER webhook_asset_deleted AFTER UPDATE OF deleted_at ON assets
WHEN OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL
BEGIN
    INSERT INTO webhook_deliveries (webhook_id, tenant, event_id, event_type, subject_id, status,
        occurred_at, next_attempt_at, created_at)
    SELECT w.id, NEW.tenant, 'evt-' || NEW.id || '-deleted-' || NEW.deleted_at, 'asset.deleted',
           NEW.id, NEW.status, NEW.deleted_at, NEW.deleted_at, NEW.deleted_at
    FROM webhooks w
    WHERE w.tenant = NEW.tenant AND instr(w.events, ',asset.deleted,') > 0;
END;

-- A generation task reached a terminal status (recorded by the task gateway).
CREATE TRIGGER webhook_task_finished_insert AFTER INSERT ON tasks
WHEN NEW.finished = 1
BEGIN
    INSERT INTO webhook_deliveries (webhook_id, tenant, event_id, event_type, subject_id, status,
        occurred_at, next_attempt_at, created_at)
    SELECT w.id, NEW.tenant, 'evt-' || NEW.id || '-finished', 'task.finished', NEW.id,
           NEW.status, NEW.updated_at, NEW.updated_at, NEW.updated_at
    FROM webhooks w
    WHERE w.tenant = NEW.tenant AND instr(w.events, ',task.finished,') > 0;
END;

CREATE TRIGGER webhook_task_finished_update AFTER UPDATE OF finished ON tasks
WHEN NEW.finished = 1 AND OLD.finished = 0
BEGIN
    INSERT INTO webhook_deliveries (webhook_id, tenant, event_id, event_type, subject_id, status,
        occurred_at, next_attempt_at, created_at)
    SELECT w.id, NEW.tenant, 'evt-' || NEW.id || '-finished', 'task.finished', NEW.id,
           NEW.status, NEW.updated_at, NEW.updated_at, NEW.updated_at
    FROM webhooks w
    WHERE w.tenant = NEW.tenant AND instr(w.events, ',task.finished,') > 0;
END;
