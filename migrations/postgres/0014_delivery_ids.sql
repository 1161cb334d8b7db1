-- Each webhook delivery gets an opaque id for the API: `dlv-`, the UTC time of its creation
-- (YYYYMMDDhhmmss), `-`, and 16 random hex characters. The row number stays the table's key
-- and is never shown (it counted every tenant's deliveries). Existing rows get one here; the
-- triggers that write deliveries leave it out, and the trigger below fills it in.
ALTER TABLE webhook_deliveries ADD COLUMN public_id TEXT;

CREATE FUNCTION assetlib_delivery_public_id(created_at BIGINT) RETURNS TEXT
LANGUAGE sql VOLATILE AS $$
    SELECT 'dlv-' || to_char(to_timestamp(created_at / 1000) AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS')
           || '-' || substr(md5(gen_random_uuid()::text), 1, 16)
$$;

UPDATE webhook_deliveries SET public_id = assetlib_delivery_public_id(created_at);

ALTER TABLE webhook_deliveries ALTER COLUMN public_id SET NOT NULL;

CREATE UNIQUE INDEX webhook_deliveries_by_public_id ON webhook_deliveries (webhook_id, public_id);

CREATE FUNCTION assetlib_webhook_delivery_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.public_id IS NULL THEN
        NEW.public_id := assetlib_delivery_public_id(NEW.created_at);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER webhook_deliveries_public_id
BEFORE INSERT ON webhook_deliveries
FOR EACH ROW EXECUTE FUNCTION assetlib_webhook_delivery_id();
