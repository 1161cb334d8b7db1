-- Each name case-folded by Unicode (`domain::fold_name`), which the `name` filter searches, the
-- same way on both databases. The server writes it with every row; rows written before this
-- migration are filled once at start-up, found through the partial index (empty after).
ALTER TABLE assets ADD COLUMN name_folded TEXT;

CREATE INDEX assets_name_unfolded ON assets (seq) WHERE name IS NOT NULL AND name_folded IS NULL;
