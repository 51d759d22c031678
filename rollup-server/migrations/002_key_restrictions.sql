-- Per-key restrictions pushed to the edge: allowed origins (JSON list) and a rate limit.
ALTER TABLE api_keys ADD COLUMN allowed_origins VARCHAR;
ALTER TABLE api_keys ADD COLUMN rate_limit_per_minute BIGINT;
