-- Issue "Operate it on Cloudflare": alerts. Webhooks an admin adds in the
-- console (their address and the HMAC key their bodies are signed with: the
-- Worker alone reads them; the console shows neither), the queue consumer's
-- once-per-window claims (fail-open sign-ins, Duo refusing our keys and
-- refusal bursts alert once per 15 minutes), and the log of every attempt
-- to deliver an alert (kept 90 days: each new record deletes older ones).
CREATE TABLE alert_webhooks (
    id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 4 AND 64),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 256),
    url TEXT NOT NULL CHECK (length(url) <= 2048 AND (url LIKE 'https://%' OR url LIKE 'http://%')),
    format TEXT NOT NULL CHECK (format IN ('slack', 'json')),
    -- Comma-separated kinds (`fraud_reported,role_changed`).
    events TEXT NOT NULL CHECK (length(events) BETWEEN 1 AND 512),
    enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    secret TEXT NOT NULL CHECK (secret LIKE 'whsec_%'),
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);
CREATE UNIQUE INDEX alert_webhooks_by_name ON alert_webhooks (lower(name));

CREATE TABLE alert_claims (
    key TEXT PRIMARY KEY,
    until INTEGER NOT NULL
);

CREATE TABLE alert_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    alert_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    webhook_name TEXT NOT NULL,
    attempt INTEGER NOT NULL CHECK (attempt >= 0),
    outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed', 'gave_up')),
    status INTEGER,
    error TEXT CHECK (error IS NULL OR length(error) <= 512),
    retry_at INTEGER
);
CREATE INDEX alert_deliveries_by_time ON alert_deliveries (at);
CREATE INDEX alert_deliveries_by_webhook ON alert_deliveries (webhook_id, at);
