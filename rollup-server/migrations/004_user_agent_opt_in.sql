-- The full UA string, kept only for keys whose tenant opted in (store_user_agent).
ALTER TABLE events ADD COLUMN user_agent VARCHAR;
ALTER TABLE events_staging ADD COLUMN user_agent VARCHAR;
ALTER TABLE api_keys ADD COLUMN store_user_agent BOOLEAN DEFAULT false;
