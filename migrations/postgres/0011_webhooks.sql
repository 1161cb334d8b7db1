-- Webhooks: each tenant's endpoints, and one delivery row per (endpoint, event). The events are
-- written by triggers in the same transaction as the change they report, so an event is never
-- lost to a crash between the change and its announcement; a dispatcher on every node sends
-- due deliveries (claimed with a lease, SKIP LOCKED) and records each attempt.
CREATE TABLE webhooks (
    id         TEXT   PRIMARY KEY,
    tenant     TEXT   NOT NULL,
    url        TEXT   NOT NULL,
    secret     TEXT   NOT NULL,
    -- The subscribed event types, each between commas: ",asset.active,asset.failed,".
    events     TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX webhooks_by_tenant ON webhooks (tenant);

CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    webhook_id      TEXT   NOT NULL,
    tenant          TEXT   NOT NULL,
    -- The same for every endpoint and every attempt of one event: receivers de-duplicate by it.
    event_id        TEXT   NOT NULL,
    event_type      TEXT   NOT NULL,
    -- The asset or the task the event is about, its status then, and an asset's failure.
    subject_id      TEXT   NOT NULL,
    status          TEXT,
    failure_code    TEXT,
    failure_message TEXT,
    occurred_at     BIGINT NOT NULL,
    state           TEXT   NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    response_status BIGINT,
    latency_ms      BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);

CREATE FUNCTION assetlib_webhook_asset() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind TEXT;
    event TEXT;
    at BIGINT;
BEGIN
    IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
        kind := 'asset.deleted';
        event := 'evt-' || NEW.id || '-deleted-' || NEW.deleted_at;
        at := NEW.deleted_at;
    ELSIF NEW.deleted_at IS NULL AND NEW.status IS DISTINCT FROM OLD.status
          AND NEW.status IN ('Active', 'Failed', 'PendingReview') THEN
        kind := CASE NEW.status WHEN 'Active' THEN 'asset.active'
                                WHEN 'Failed' THEN 'asset.failed' ELSE 'asset.held' END;
        event := 'evt-' || NEW.id || '-' || NEW.status || '-' || NEW.updated_at;
        at := NEW.updated_at;
    ELSE
        RETURN NULL;
    END IF;
    INSERT INTO webhook_deliveries (webhook_id, tenant, event_id, event_type, subject_id, status,
        failure_code, failure_message, occurred_at, next_attempt_at, created_at)
    SELECT w.id, NEW.tenant, event, kind, NEW.id, NEW.status,
           CASE WHEN kind = 'asset.deleted' THEN NULL ELSE NEW.failure_code END,
           CASE WHEN kind = 'asset.deleted' THEN NULL ELSE NEW.failure_message END,
           at, at, at
    FROM webhooks w
    WHERE w.tenant = NEW.tenant AND strpos(w.events, ',' || kind || ',') > 0;
    RETURN NULL;
END
$$;

CREATE TRIGGER assets_webhooks
AFTER UPDATE OF status, deleted_at ON assets
FOR EACH ROW EXECUTE FUNCTION assetlib_webhook_asset();

CREATE FUNCTION assetlib_webhook_task() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.finished = 1 AND (TG_OP = 'INSERT' OR OLD.finished = 0) THEN
        INSERT INTO webhook_deliveries (webhook_id, tenant, event_id, event_type, subject_id,
            status, occurred_at, next_attempt_at, created_at)
        SELECT w.id, NEW.tenant, 'evt-' || NEW.id || '-finished', 'task.finished', NEW.id,
               NEW.status, NEW.updated_at, NEW.updated_at, NEW.updated_at
        FROM webhooks w
        WHERE w.tenant = NEW.tenant AND strpos(w.events, ',task.finished,') > 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_webhooks
AFTER INSERT OR UPDATE OF finished ON tasks
FOR EACH ROW EXECUTE FUNCTION assetlib_webhook_task();
