-- The client a session was made for (issue "Admin console": the sessions
-- page shows it). Cloudflare's CF-Connecting-IP, never a client's header;
-- NULL for sessions made before this migration.
ALTER TABLE sessions ADD COLUMN client_ip TEXT CHECK (client_ip IS NULL OR length(client_ip) <= 64);
