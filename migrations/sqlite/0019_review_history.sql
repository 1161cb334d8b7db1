-- The review queue's clock, the decision history, and names for API keys.

-- When the asset last entered the review queue (held, or reopened): the queue's order and age.
ALTER TABLE assets ADD COLUMN held_at INTEGER;
UPDATE assets SET held_at = updated_at WHERE status = 'PendingReview';
CREATE INDEX assets_review_queue ON assets (held_at, seq)
    WHERE status = 'PendingReview' AND deleted_at IS NULL;

-- Every approve, reject and reopen, written in the transaction of the status change it records.
-- No reference to assets: the history outlives the rows it speaks of.
CREATE TABLE review_history (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_id        TEXT    NOT NULL,
    tenant          TEXT    NOT NULL,
    decision        TEXT    NOT NULL CHECK (decision IN ('approve', 'reject', 'reopen')),
    reason          TEXT,
    reviewer_key    TEXT    NOT NULL,
    reviewer_name   TEXT,
    reviewer_tenant TEXT    NOT NULL,
    -- The face boxes shown at decision time (JSON array) and the size they refer to.
    faces           TEXT    NOT NULL DEFAULT '[]',
    image_width     INTEGER NOT NULL DEFAULT 0,
    image_height    INTEGER NOT NULL DEFAULT 0,
    decided_at      INTEGER NOT NULL
);

-- Decisions made before the history existed, from each asset's moderation record (the key's name
-- was not recorded then).
INSERT INTO review_history (asset_id, tenant, decision, reason, reviewer_key, reviewer_name,
    reviewer_tenant, faces, image_width, image_height, decided_at)
SELECT id, tenant, json_extract(moderation, '$.decision.action'),
       json_extract(moderation, '$.decision.reason'),
       json_extract(moderation, '$.decision.reviewerKey'), NULL,
       json_extract(moderation, '$.decision.reviewerTenant'),
       coalesce(json_extract(moderation, '$.faces'), '[]'),
       coalesce(json_extract(moderation, '$.width'), 0),
       coalesce(json_extract(moderation, '$.height'), 0),
       CAST(round((julianday(json_extract(moderation, '$.decision.at')) - 2440587.5) * 86400000)
            AS INTEGER)
FROM assets
WHERE moderation IS NOT NULL
  AND json_extract(moderation, '$.decision.action') IN ('approve', 'reject')
ORDER BY julianday(json_extract(moderation, '$.decision.at')), seq;

CREATE INDEX review_history_by_asset ON review_history (asset_id, seq);
CREATE INDEX review_history_by_tenant ON review_history (tenant, seq);
CREATE INDEX review_history_by_reviewer ON review_history (reviewer_key, seq);

-- Who a key belongs to, as the review history shows it (optional).
ALTER TABLE api_keys ADD COLUMN name TEXT;
