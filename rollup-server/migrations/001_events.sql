-- Events as the edge stored them: immutable, unique by (tenant_id, eid).
CREATE TABLE events (
    tenant_id       VARCHAR NOT NULL,
    eid             VARCHAR NOT NULL,
    type            VARCHAR NOT NULL,
    ts              BIGINT NOT NULL,
    received_at     BIGINT NOT NULL,
    key_id          VARCHAR NOT NULL,
    anonymous_id    VARCHAR NOT NULL,
    user_id         VARCHAR,
    session_id      VARCHAR,
    view_id         VARCHAR,
    content_id      VARCHAR,
    content_type    VARCHAR,
    content_title   VARCHAR,
    season          BIGINT,
    episode         BIGINT,
    duration_s      DOUBLE,
    position_s      DOUBLE,
    page_url        VARCHAR,
    referrer        VARCHAR,
    player_name     VARCHAR,
    player_version  VARCHAR,
    ttff_ms         BIGINT,
    watched_ms      BIGINT,
    rebuffer_ms     BIGINT,
    played          VARCHAR,   -- JSON list of [from_s, to_s]
    error_code      VARCHAR,
    error_message   VARCHAR,
    fatal           BOOLEAN,
    bitrate         BIGINT,
    width           BIGINT,
    height          BIGINT,
    name            VARCHAR,
    props           VARCHAR,   -- JSON object
    browser         VARCHAR,
    browser_version VARCHAR,
    os              VARCHAR,
    os_version      VARCHAR,
    device_type     VARCHAR,
    device_brand    VARCHAR,
    device_model    VARCHAR,
    continent       VARCHAR,
    country         VARCHAR,
    subdivision     VARCHAR,
    city            VARCHAR,
    timezone        VARCHAR,
    colo            VARCHAR,
    PRIMARY KEY (tenant_id, eid)
);

-- Rows of one batch object on their way into `events` (filled and emptied inside one transaction).
CREATE TABLE events_staging AS SELECT * FROM events LIMIT 0;

-- Every lake object that has been loaded: the load and this record commit together.
CREATE TABLE loaded_objects (
    object_key   VARCHAR PRIMARY KEY,
    tenant_id    VARCHAR,
    uploaded_ms  BIGINT NOT NULL,
    loaded_at_ms BIGINT NOT NULL,
    events       BIGINT NOT NULL,
    duplicates   BIGINT NOT NULL
);

-- API keys issued by this server. The key string is derived (HMAC), so only its id is kept.
CREATE TABLE api_keys (
    key_id        VARCHAR PRIMARY KEY,
    tenant_id     VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);
