-- Access key pairs for the Volcengine-style face: the key's id is the AccessKeyId, and the
-- secret is kept (HMAC signatures are checked with it; it is never logged or shown again).
ALTER TABLE api_keys ADD COLUMN access_secret TEXT;
