-- PostgreSQL 15 side of `peer-bench`: the same lake, the same view rules (docs/api.md), the same
-- dashboard answers as Tapemetric's API, as a PostgreSQL user would build them: an events table filled
-- with COPY, views and their played ranges as tables built from SQL, B-tree indexes for the dashboard's
-- filters, ANALYZE. Sections start with `-- name: <section>`; tests/peers/postgres.rs runs them.
-- Query parameters (every query is prepared with all five): $1 tenant, $2 from_ms, $3 content id,
-- $4 minimum watched ms, $5 engagement ranges.

-- name: schema
CREATE TABLE events (
    tenant_id       text NOT NULL,
    eid             text NOT NULL,
    type            text NOT NULL,
    ts              bigint NOT NULL,
    received_at     bigint NOT NULL,
    key_id          text NOT NULL,
    anonymous_id    text NOT NULL,
    user_id         text,
    session_id      text,
    view_id         text,
    content_id      text,
    content_type    text,
    content_title   text,
    season          bigint,
    episode         bigint,
    duration_s      double precision,
    position_s      double precision,
    page_url        text,
    referrer        text,
    player_name     text,
    player_version  text,
    ttff_ms         bigint,
    watched_ms      bigint,
    rebuffer_ms     bigint,
    played          text,   -- JSON list of [from_s, to_s]
    error_code      text,
    error_message   text,
    fatal           boolean,
    bitrate         bigint,
    width           bigint,
    height          bigint,
    name            text,
    props           text,   -- JSON object
    browser         text,
    browser_version text,
    os              text,
    os_version      text,
    device_type     text,
    device_brand    text,
    device_model    text,
    continent       text,
    country         text,
    subdivision     text,
    city            text,
    timezone        text,
    colo            text,
    user_agent      text
);

-- name: build_views
-- identify links: the latest user id per anonymous id.
CREATE TABLE identities AS
SELECT DISTINCT ON (tenant_id, anonymous_id) tenant_id, anonymous_id, user_id
FROM events
WHERE type = 'identify' AND user_id IS NOT NULL
ORDER BY tenant_id, anonymous_id, ts DESC, eid DESC;

-- The events of views: retried copies (same eid) once, bots left out, view_ids with a view_start only,
-- split into segments where 30 minutes pass without an event.
CREATE TEMP TABLE view_events AS
WITH deduplicated AS (
    SELECT DISTINCT ON (tenant_id, view_id, ts, eid)
           tenant_id, view_id, eid, ts, type, content_id, anonymous_id, user_id, ttff_ms, watched_ms,
           rebuffer_ms, fatal, duration_s, page_url, browser, os, device_type, country, played
    FROM events
    WHERE view_id IS NOT NULL AND device_type IS DISTINCT FROM 'bot'
    ORDER BY tenant_id, view_id, ts, eid
),
marked AS (
    SELECT *,
           CASE WHEN ts - lag(ts) OVER w > 1800000 THEN 1 ELSE 0 END AS breaks,
           bool_or(type = 'view_start') OVER (PARTITION BY tenant_id, view_id) AS has_start
    FROM deduplicated
    WINDOW w AS (PARTITION BY tenant_id, view_id ORDER BY ts, eid)
)
SELECT *, (sum(breaks) OVER (PARTITION BY tenant_id, view_id ORDER BY ts, eid ROWS UNBOUNDED PRECEDING))::int AS segment
FROM marked
WHERE has_start;

-- One row per view; dimensions from its first event; a later segment only if it plays.
CREATE TABLE views AS
WITH numbered AS (
    SELECT *, row_number() OVER (PARTITION BY tenant_id, view_id, segment ORDER BY ts, eid) AS nth
    FROM view_events
),
per_view AS (
    SELECT tenant_id, view_id, segment,
           min(ts) AS started_ms,
           max(ts) AS last_ms,
           max(content_id) FILTER (WHERE nth = 1) AS content_id,
           max(anonymous_id) FILTER (WHERE nth = 1) AS anonymous_id,
           max(user_id) AS user_id,
           min(ttff_ms) FILTER (WHERE type = 'first_frame') AS ttff_ms,
           coalesce(sum(watched_ms), 0)::bigint AS watched_ms,
           coalesce(sum(rebuffer_ms), 0)::bigint AS rebuffer_ms,
           coalesce(bool_or(type = 'error' AND coalesce(fatal, false)), false) AS fatal_error,
           coalesce(bool_or(type = 'first_frame'), false)
               OR (segment > 0 AND coalesce(sum(watched_ms), 0) > 0) AS reached_first_frame,
           max(duration_s) AS duration_s,
           max(page_url) FILTER (WHERE nth = 1) AS page_url,
           max(browser) FILTER (WHERE nth = 1) AS browser,
           max(os) FILTER (WHERE nth = 1) AS os,
           max(device_type) FILTER (WHERE nth = 1) AS device_type,
           max(country) FILTER (WHERE nth = 1) AS country
    FROM numbered
    GROUP BY tenant_id, view_id, segment
    HAVING segment = 0 OR bool_or(type IN ('view_start', 'first_frame')) OR coalesce(sum(watched_ms), 0) > 0
)
SELECT v.tenant_id, v.view_id, v.segment, v.started_ms, v.last_ms, v.content_id,
       coalesce(v.user_id, i.user_id, v.anonymous_id) AS viewer_id,
       v.ttff_ms, v.watched_ms, v.rebuffer_ms, v.fatal_error, v.reached_first_frame, v.duration_s,
       substring(v.page_url FROM '^([a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]+[^?#]*)') AS source,
       v.browser, v.os, v.device_type, v.country
FROM per_view v
LEFT JOIN identities i ON i.tenant_id = v.tenant_id AND i.anonymous_id = v.anonymous_id;

-- The played ranges of each view's heartbeats, in media seconds.
CREATE TABLE view_ranges AS
SELECT e.tenant_id, e.view_id, e.segment, (r ->> 0)::double precision AS from_s, (r ->> 1)::double precision AS to_s
FROM view_events e, jsonb_array_elements(e.played::jsonb) AS r
WHERE e.played IS NOT NULL AND jsonb_array_length(r) = 2 AND (r ->> 1)::double precision > (r ->> 0)::double precision;

DROP TABLE view_events;
CREATE INDEX views_by_start ON views (tenant_id, started_ms);
CREATE INDEX views_by_content ON views (tenant_id, content_id, started_ms);
CREATE INDEX view_ranges_by_view ON view_ranges (tenant_id, view_id, segment);
ANALYZE identities;
ANALYZE views;
ANALYZE view_ranges;

-- name: views_by_day_country
SELECT country, (started_ms / 86400000) * 86400000 AS day_ms,
       count(*) AS views, count(DISTINCT viewer_id) AS unique_viewers,
       (sum(watched_ms) / 60000.0)::double precision AS playtime_mins,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ttff_ms) FILTER (WHERE reached_first_frame) AS ttff_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY ttff_ms) FILTER (WHERE reached_first_frame) AS ttff_p95,
       coalesce(sum(rebuffer_ms)::double precision / nullif(sum(watched_ms) + sum(rebuffer_ms), 0), 0) AS rebuffer_ratio,
       (count(*) FILTER (WHERE fatal_error))::double precision / count(*) AS error_rate,
       (count(*) FILTER (WHERE NOT reached_first_frame AND NOT fatal_error))::double precision / count(*) AS exits_before_start
FROM views
WHERE tenant_id = $1 AND started_ms >= $2
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: qoe_by_day_content
SELECT (started_ms / 86400000) * 86400000 AS day_ms,
       count(*) AS views, count(DISTINCT viewer_id) AS unique_viewers,
       (sum(watched_ms) / 60000.0)::double precision AS playtime_mins,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ttff_ms) FILTER (WHERE reached_first_frame) AS ttff_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY ttff_ms) FILTER (WHERE reached_first_frame) AS ttff_p95,
       coalesce(sum(rebuffer_ms)::double precision / nullif(sum(watched_ms) + sum(rebuffer_ms), 0), 0) AS rebuffer_ratio,
       (count(*) FILTER (WHERE fatal_error))::double precision / count(*) AS error_rate,
       (count(*) FILTER (WHERE NOT reached_first_frame AND NOT fatal_error))::double precision / count(*) AS exits_before_start
FROM views
WHERE tenant_id = $1 AND content_id = $3 AND started_ms >= $2
GROUP BY 1
ORDER BY 1;

-- name: plays_by_day
SELECT to_char(to_timestamp((started_ms / 86400000) * 86400) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS day,
       count(*) AS plays, (sum(watched_ms) / 1000.0)::double precision AS total_view_time,
       count(*) FILTER (WHERE b = 'brave'), count(*) FILTER (WHERE b = 'chrome'),
       count(*) FILTER (WHERE b = 'edge'), count(*) FILTER (WHERE b = 'firefox'),
       count(*) FILTER (WHERE b = 'ie'), count(*) FILTER (WHERE b = 'opera'),
       count(*) FILTER (WHERE b = 'other'), count(*) FILTER (WHERE b = 'safari'),
       count(*) FILTER (WHERE d = 'desktop'), count(*) FILTER (WHERE d = 'mobile'),
       count(*) FILTER (WHERE d = 'other'), count(*) FILTER (WHERE d = 'tablet'),
       count(*) FILTER (WHERE p = 'android'), count(*) FILTER (WHERE p = 'ios'),
       count(*) FILTER (WHERE p = 'linux'), count(*) FILTER (WHERE p = 'mac'),
       count(*) FILTER (WHERE p = 'other'), count(*) FILTER (WHERE p = 'windows')
FROM (
    SELECT started_ms, watched_ms,
           CASE WHEN browser = 'Brave' THEN 'brave'
                WHEN browser = 'Edge' OR browser LIKE 'Edge %' THEN 'edge'
                WHEN browser LIKE 'Opera%' THEN 'opera'
                WHEN browser IN ('IE', 'IE Mobile') THEN 'ie'
                WHEN browser LIKE 'Firefox%' THEN 'firefox'
                WHEN browser LIKE 'Chrome%' OR browser IN ('Chromium', 'HeadlessChrome') THEN 'chrome'
                WHEN browser LIKE '%Safari%' THEN 'safari'
                ELSE 'other' END AS b,
           CASE WHEN device_type IN ('desktop', 'mobile', 'tablet') THEN device_type ELSE 'other' END AS d,
           CASE WHEN os = 'Android' THEN 'android'
                WHEN os IN ('iOS', 'iPadOS') THEN 'ios'
                WHEN os IN ('Mac OS X', 'macOS') THEN 'mac'
                WHEN os = 'Windows' THEN 'windows'
                WHEN os IN ('Linux', 'Ubuntu', 'Debian', 'Fedora', 'Chrome OS', 'ChromeOS') THEN 'linux'
                ELSE 'other' END AS p
    FROM views
    WHERE tenant_id = $1 AND watched_ms >= $4 AND started_ms >= $2
) plays
GROUP BY 1
ORDER BY 1;

-- name: engagement
-- Per range of the timeline (the longest duration among the plays, else the furthest played second),
-- the plays that played any part of it.
WITH plays AS (
    SELECT view_id, segment, duration_s FROM views
    WHERE tenant_id = $1 AND content_id = $3 AND watched_ms >= $4 AND started_ms >= $2
),
played AS (
    SELECT r.view_id, r.segment, r.from_s, r.to_s
    FROM view_ranges r JOIN plays p ON r.view_id = p.view_id AND r.segment = p.segment
    WHERE r.tenant_id = $1
),
timeline AS (
    SELECT coalesce((SELECT max(duration_s) FROM plays), (SELECT max(to_s) FROM played)) AS length_s
),
cuts AS (
    SELECT i, i::double precision * length_s / $5::double precision AS from_s,
           (i + 1)::double precision * length_s / $5::double precision AS to_s
    FROM timeline, generate_series(0, $5 - 1) AS i
    WHERE length_s > 0
)
SELECT c.i::bigint, c.from_s, c.to_s, count(DISTINCT (p.view_id, p.segment)) FILTER (WHERE p.view_id IS NOT NULL)
FROM cuts c
LEFT JOIN played p ON p.from_s < c.to_s AND p.to_s > c.from_s
GROUP BY c.i, c.from_s, c.to_s
ORDER BY c.i;

-- name: sources_by_day
SELECT to_char(to_timestamp((started_ms / 86400000) * 86400) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS day,
       source, substring(source FROM '^[^:]+://([^/]+)') AS host, count(*) AS plays
FROM views
WHERE tenant_id = $1 AND watched_ms >= $4 AND started_ms >= $2 AND source IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 4 DESC, 2;

-- name: viewers_by_country
SELECT country,
       count(*) AS views, count(DISTINCT viewer_id) AS unique_viewers,
       (sum(watched_ms) / 60000.0)::double precision AS playtime_mins,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ttff_ms) FILTER (WHERE reached_first_frame) AS ttff_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY ttff_ms) FILTER (WHERE reached_first_frame) AS ttff_p95,
       coalesce(sum(rebuffer_ms)::double precision / nullif(sum(watched_ms) + sum(rebuffer_ms), 0), 0) AS rebuffer_ratio,
       (count(*) FILTER (WHERE fatal_error))::double precision / count(*) AS error_rate,
       (count(*) FILTER (WHERE NOT reached_first_frame AND NOT fatal_error))::double precision / count(*) AS exits_before_start
FROM views
WHERE tenant_id = $1 AND started_ms >= $2
GROUP BY 1
ORDER BY 1;
