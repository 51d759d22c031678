-- Views become a table kept up to date on every load (incremental: only the views that a load touched
-- are recomputed, in the load's transaction), so dashboard queries read one row per view instead of
-- aggregating raw events.
--
-- Events lose their primary-key index: uniqueness by (tenant_id, eid) is enforced by the load itself
-- (an anti-join against stored events, in the same transaction), which costs far less than maintaining
-- an index over every event id and keeps memory flat as the table grows.
DROP VIEW view_facts;
DROP VIEW identities;

ALTER TABLE events RENAME TO events_v1;
CREATE TABLE events AS SELECT * FROM events_v1 LIMIT 0;
INSERT INTO events SELECT * FROM events_v1;
DROP TABLE events_v1;

-- identify links: the latest user id per anonymous id.
CREATE TABLE identities (
    tenant_id    VARCHAR NOT NULL,
    anonymous_id VARCHAR NOT NULL,
    user_id      VARCHAR NOT NULL,
    ts           BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, anonymous_id)
);
INSERT INTO identities
SELECT tenant_id, anonymous_id, arg_max(user_id, ts), max(ts)
FROM events
WHERE type = 'identify' AND user_id IS NOT NULL
GROUP BY tenant_id, anonymous_id;

-- One row per view. A view is the events of one view_id, split where 30 minutes pass without an event
-- (`segment` numbers the parts). See docs/api.md for each column's meaning.
CREATE TABLE views (
    tenant_id           VARCHAR NOT NULL,
    view_id             VARCHAR NOT NULL,
    segment             INTEGER NOT NULL,
    started_ms          BIGINT NOT NULL,
    last_ms             BIGINT NOT NULL,
    content_id          VARCHAR,
    content_type        VARCHAR,
    session_id          VARCHAR,
    anonymous_id        VARCHAR,
    user_id             VARCHAR,
    viewer_id           VARCHAR,
    viewer_key          UBIGINT,   -- hash(viewer_id): counting distinct numbers is faster than strings
    ttff_ms             BIGINT,
    watched_ms          BIGINT NOT NULL,
    rebuffer_ms         BIGINT NOT NULL,
    rebuffer_count      BIGINT NOT NULL,
    fatal_error         BOOLEAN NOT NULL,
    reached_first_frame BOOLEAN NOT NULL,
    ended               BOOLEAN NOT NULL,
    furthest_position_s DOUBLE,
    duration_s          DOUBLE,
    page_url            VARCHAR,
    source              VARCHAR,
    browser             VARCHAR,
    browser_engine      VARCHAR,
    os                  VARCHAR,
    device_type         VARCHAR,
    device              VARCHAR,
    continent           VARCHAR,
    country             VARCHAR,
    subdivision         VARCHAR,
    timezone            VARCHAR,
    props               VARCHAR
);

-- The played ranges of each view, in media seconds (engagement curves).
CREATE TABLE view_ranges (
    tenant_id  VARCHAR NOT NULL,
    view_id    VARCHAR NOT NULL,
    segment    INTEGER NOT NULL,
    content_id VARCHAR,
    started_ms BIGINT NOT NULL,
    from_s     DOUBLE NOT NULL,
    to_s       DOUBLE NOT NULL
);

-- The views a load touched, filled and emptied inside the load's transaction.
CREATE TABLE views_affected (tenant_id VARCHAR NOT NULL, view_id VARCHAR NOT NULL);

-- Loads stage rows in a temporary table now (DuckDB's JSON reader fills it).
DROP TABLE events_staging;

-- Views of the events already stored are computed at start-up (see Store::open).
INSERT INTO views_affected SELECT DISTINCT tenant_id, view_id FROM events WHERE view_id IS NOT NULL;
