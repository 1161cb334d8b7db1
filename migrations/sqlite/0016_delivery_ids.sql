-- Each webhook delivery gets an opaque id for the API: `dlv-`, the UTC time of its creation
-- (YYYYMMDDhhmmss), `-`, and 16 random hex characters. The row number stays the table's key
-- and is never shown (it counted every tenant's deliveries). Existing rows get one here; the
-- triggers that write deliveries leave it out, and the trigger below fills it in (a column
-- added by ALTER TABLE cannot have a computed default in SQLite).
ALTER TABLE webhook_deliveries ADD COLUMN public_id TEXT;

UPDATE webhook_deliveries
SET public_id = 'dlv-' || strftime('%Y%m%d%H%M%S', created_at / 1000, 'unixepoch') || '-'
                || lower(hex(randomblob(8)));

CREATE UNIQUE INDEX webhook_deliveries_by_public_id ON webhook_deliveries (webhook_id, public_id);

CREATE TRIGGER webhook_delivery_public_id AFTER INSERT ON webhook_deliveries
WHEN NEW.public_id IS NULL
BEGIN
    UPDATE webhook_deliveries
    SET public_id = 'dlv-' || strftime('%Y%m%d%H%M%S', NEW.created_at / 1000, 'unixepoch') || '-'
                    || lower(hex(randomblob(8)))
    WHERE id = NEW.id;
END;
