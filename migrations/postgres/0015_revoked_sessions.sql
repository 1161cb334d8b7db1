-- Console sessions ended by signing out, kept until the session would have expired (then
-- swept): every node refuses a revoked session's cookie. Times are Unix milliseconds.
CREATE TABLE revoked_sessions (
    id TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_sessions_expiry ON revoked_sessions (expires_at);
