-- Holds on content hashes that keep an upload reusing a stored blob and the removal of that blob
-- as an orphan from overlapping (see `service::blob_guard`): an upload holds its blob from before
-- it looks for it until its row is inserted; a removal holds it from before it checks the rows
-- until the blob is deleted. Each side records its hold first, then looks for the other's.
CREATE TABLE blob_holds (
    id         TEXT    PRIMARY KEY,
    sha256     TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('upload', 'removal')),
    created_at INTEGER NOT NULL
);

CREATE INDEX blob_holds_by_sha256 ON blob_holds (sha256, kind);
