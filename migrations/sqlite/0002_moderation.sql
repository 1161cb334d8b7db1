-- What the face check found and what a reviewer decided (JSON), per asset.
ALTER TABLE assets ADD COLUMN moderation TEXT;

CREATE INDEX assets_pending_review ON assets (seq) WHERE status = 'PendingReview' AND deleted_at IS NULL;
