-- ClickHouse (chDB) side of `peer-bench`: the same lake, the same view rules (docs/api.md), the same
-- dashboard answers as Tapemetric's API. Sections start with `-- name: <section>`; tests/peers/chdb_bench.py
-- runs them. Query parameters: {tenant:String}, {from_ms:Int64}, {content:String}, {min_watch_ms:Int64},
-- {ranges:UInt32}, {files:String} (the lake's glob).

-- name: schema
-- Events as the edge wrote them. ReplacingMergeTree keyed by the view's order: retried copies of an
-- event (same eid) collapse, and `FINAL` reads them once before merges catch up.
CREATE TABLE events (
    tenant_id       LowCardinality(String),
    eid             String,
    type            LowCardinality(String),
    ts              Int64,
    received_at     Int64,
    key_id          LowCardinality(String),
    anonymous_id    String,
    user_id         Nullable(String),
    session_id      Nullable(String),
    view_id         String,
    content_id      LowCardinality(Nullable(String)),
    content_type    LowCardinality(Nullable(String)),
    content_title   Nullable(String),
    season          Nullable(Int64),
    episode         Nullable(Int64),
    duration_s      Nullable(Float64),
    position_s      Nullable(Float64),
    page_url        Nullable(String),
    referrer        Nullable(String),
    player_name     LowCardinality(Nullable(String)),
    player_version  LowCardinality(Nullable(String)),
    ttff_ms         Nullable(Int64),
    watched_ms      Nullable(Int64),
    rebuffer_ms     Nullable(Int64),
    played          Array(Array(Float64)),
    error_code      LowCardinality(Nullable(String)),
    error_message   Nullable(String),
    fatal           Nullable(Bool),
    bitrate         Nullable(Int64),
    width           Nullable(Int64),
    height          Nullable(Int64),
    name            Nullable(String),
    props           Nullable(String),
    browser         LowCardinality(Nullable(String)),
    browser_version LowCardinality(Nullable(String)),
    os              LowCardinality(Nullable(String)),
    os_version      LowCardinality(Nullable(String)),
    device_type     LowCardinality(Nullable(String)),
    device_brand    LowCardinality(Nullable(String)),
    device_model    LowCardinality(Nullable(String)),
    continent       LowCardinality(Nullable(String)),
    country         LowCardinality(Nullable(String)),
    subdivision     LowCardinality(Nullable(String)),
    city            LowCardinality(Nullable(String)),
    timezone        LowCardinality(Nullable(String)),
    colo            LowCardinality(Nullable(String)),
    user_agent      Nullable(String)
) ENGINE = ReplacingMergeTree ORDER BY (tenant_id, view_id, ts, eid);

-- One row per view, its played ranges kept with it (an array per row: no second table to join).
CREATE TABLE views (
    tenant_id           LowCardinality(String),
    view_id             String,
    segment             UInt32,
    started_ms          Int64,
    last_ms             Int64,
    content_id          LowCardinality(Nullable(String)),
    viewer_id           String,
    ttff_ms             Nullable(Int64),
    watched_ms          Int64,
    rebuffer_ms         Int64,
    fatal_error         Bool,
    reached_first_frame Bool,
    duration_s          Nullable(Float64),
    source              Nullable(String),
    browser             LowCardinality(Nullable(String)),
    os                  LowCardinality(Nullable(String)),
    device_type         LowCardinality(Nullable(String)),
    country             LowCardinality(Nullable(String)),
    played              Array(Array(Float64))
) ENGINE = MergeTree ORDER BY (tenant_id, started_ms);

-- name: load
-- ClickHouse's own reader decodes the gzip NDJSON objects, in parallel.
INSERT INTO events SELECT * FROM file({files:String}, 'JSONEachRow',
    'tenant_id String, eid String, type String, ts Int64, received_at Int64, key_id String, anonymous_id String,
     user_id Nullable(String), session_id Nullable(String), view_id String, content_id Nullable(String),
     content_type Nullable(String), content_title Nullable(String), season Nullable(Int64), episode Nullable(Int64),
     duration_s Nullable(Float64), position_s Nullable(Float64), page_url Nullable(String), referrer Nullable(String),
     player_name Nullable(String), player_version Nullable(String), ttff_ms Nullable(Int64), watched_ms Nullable(Int64),
     rebuffer_ms Nullable(Int64), played Array(Array(Float64)), error_code Nullable(String),
     error_message Nullable(String), fatal Nullable(Bool), bitrate Nullable(Int64), width Nullable(Int64),
     height Nullable(Int64), name Nullable(String), props Nullable(String), browser Nullable(String),
     browser_version Nullable(String), os Nullable(String), os_version Nullable(String), device_type Nullable(String),
     device_brand Nullable(String), device_model Nullable(String), continent Nullable(String), country Nullable(String),
     subdivision Nullable(String), city Nullable(String), timezone Nullable(String), colo Nullable(String),
     user_agent Nullable(String)')
SETTINGS input_format_json_read_objects_as_strings = 1;

-- name: build_views
-- A view: the events of one view_id that has a view_start, split where 30 minutes pass without an
-- event; a later part only if it plays; bots left out; the viewer is the user id, else the anonymous id's
-- latest identify, else the anonymous id.
INSERT INTO views
WITH
identities AS (
    SELECT tenant_id, anonymous_id, argMax(user_id, ts) AS user_id
    FROM events FINAL
    WHERE type = 'identify' AND user_id IS NOT NULL
    GROUP BY tenant_id, anonymous_id
),
marked AS (
    SELECT *,
           if(ts - lagInFrame(ts, 1, ts) OVER w > 1800000, 1, 0) AS breaks,
           max(type = 'view_start') OVER (PARTITION BY tenant_id, view_id) AS has_start
    FROM events FINAL
    WHERE view_id != '' AND ifNull(device_type, '') != 'bot'
    WINDOW w AS (PARTITION BY tenant_id, view_id ORDER BY ts, eid ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
segmented AS (
    SELECT *, toUInt32(sum(breaks) OVER (PARTITION BY tenant_id, view_id ORDER BY ts, eid
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) AS segment
    FROM marked
    WHERE has_start
),
per_view AS (
    SELECT tenant_id, view_id, segment,
           min(ts) AS started_ms, max(ts) AS last_ms,
           argMin(content_id, (ts, eid)) AS content_id,
           argMin(anonymous_id, (ts, eid)) AS anonymous_id,
           max(user_id) AS user_id,
           minIf(ttff_ms, type = 'first_frame') AS ttff_ms,
           toInt64(sum(ifNull(watched_ms, 0))) AS watched_ms,
           toInt64(sum(ifNull(rebuffer_ms, 0))) AS rebuffer_ms,
           max(type = 'error' AND ifNull(fatal, false)) = 1 AS fatal_error,
           max(type = 'first_frame') = 1 OR (segment > 0 AND sum(ifNull(watched_ms, 0)) > 0) AS reached_first_frame,
           max(duration_s) AS duration_s,
           argMin(page_url, (ts, eid)) AS page_url,
           argMin(browser, (ts, eid)) AS browser,
           argMin(os, (ts, eid)) AS os,
           argMin(device_type, (ts, eid)) AS device_type,
           argMin(country, (ts, eid)) AS country,
           arrayFilter(r -> length(r) = 2 AND r[2] > r[1], groupArrayArray(played)) AS played
    FROM segmented
    GROUP BY tenant_id, view_id, segment
    HAVING segment = 0 OR max(type IN ('view_start', 'first_frame')) = 1 OR sum(ifNull(watched_ms, 0)) > 0
)
SELECT v.tenant_id, v.view_id, v.segment, v.started_ms, v.last_ms, v.content_id,
       coalesce(v.user_id, i.user_id, v.anonymous_id) AS viewer_id,
       v.ttff_ms, v.watched_ms, v.rebuffer_ms, v.fatal_error, v.reached_first_frame, v.duration_s,
       nullIf(extract(ifNull(v.page_url, ''), '^([a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]+[^?#]*)'), '') AS source,
       v.browser, v.os, v.device_type, v.country, v.played
FROM per_view v
LEFT JOIN identities i ON i.tenant_id = v.tenant_id AND i.anonymous_id = v.anonymous_id
SETTINGS join_use_nulls = 1, prefer_column_name_to_alias = 1;

-- name: views_by_day_country
SELECT country, intDiv(started_ms, 86400000) * 86400000 AS day_ms,
       count() AS views, uniqExact(viewer_id) AS unique_viewers, sum(watched_ms) / 60000.0 AS playtime_mins,
       quantileExactInclusiveIf(0.5)(ttff_ms, reached_first_frame AND ttff_ms IS NOT NULL) AS ttff_p50,
       quantileExactInclusiveIf(0.95)(ttff_ms, reached_first_frame AND ttff_ms IS NOT NULL) AS ttff_p95,
       if(sum(watched_ms) + sum(rebuffer_ms) = 0, 0, sum(rebuffer_ms) / (sum(watched_ms) + sum(rebuffer_ms))) AS rebuffer_ratio,
       countIf(fatal_error) / count() AS error_rate,
       countIf(NOT reached_first_frame AND NOT fatal_error) / count() AS exits_before_start
FROM views
WHERE tenant_id = {tenant:String} AND started_ms >= {from_ms:Int64}
GROUP BY country, day_ms
ORDER BY country, day_ms;

-- name: qoe_by_day_content
SELECT intDiv(started_ms, 86400000) * 86400000 AS day_ms,
       count() AS views, uniqExact(viewer_id) AS unique_viewers, sum(watched_ms) / 60000.0 AS playtime_mins,
       quantileExactInclusiveIf(0.5)(ttff_ms, reached_first_frame AND ttff_ms IS NOT NULL) AS ttff_p50,
       quantileExactInclusiveIf(0.95)(ttff_ms, reached_first_frame AND ttff_ms IS NOT NULL) AS ttff_p95,
       if(sum(watched_ms) + sum(rebuffer_ms) = 0, 0, sum(rebuffer_ms) / (sum(watched_ms) + sum(rebuffer_ms))) AS rebuffer_ratio,
       countIf(fatal_error) / count() AS error_rate,
       countIf(NOT reached_first_frame AND NOT fatal_error) / count() AS exits_before_start
FROM views
WHERE tenant_id = {tenant:String} AND content_id = {content:String} AND started_ms >= {from_ms:Int64}
GROUP BY day_ms
ORDER BY day_ms;

-- name: plays_by_day
SELECT formatDateTime(toDateTime(intDiv(started_ms, 86400000) * 86400, 'UTC'), '%Y-%m-%dT%H:%i:%S.000000') AS day,
       count() AS plays, sum(watched_ms) / 1000.0 AS total_view_time,
       countIf(b = 'brave'), countIf(b = 'chrome'), countIf(b = 'edge'), countIf(b = 'firefox'),
       countIf(b = 'ie'), countIf(b = 'opera'), countIf(b = 'other'), countIf(b = 'safari'),
       countIf(d = 'desktop'), countIf(d = 'mobile'), countIf(d = 'other'), countIf(d = 'tablet'),
       countIf(p = 'android'), countIf(p = 'ios'), countIf(p = 'linux'), countIf(p = 'mac'),
       countIf(p = 'other'), countIf(p = 'windows')
FROM (
    SELECT started_ms, watched_ms,
           multiIf(browser = 'Brave', 'brave',
                   browser = 'Edge' OR browser LIKE 'Edge %', 'edge',
                   browser LIKE 'Opera%', 'opera',
                   browser IN ('IE', 'IE Mobile'), 'ie',
                   browser LIKE 'Firefox%', 'firefox',
                   browser LIKE 'Chrome%' OR browser IN ('Chromium', 'HeadlessChrome'), 'chrome',
                   browser LIKE '%Safari%', 'safari', 'other') AS b,
           if(device_type IN ('desktop', 'mobile', 'tablet'), assumeNotNull(device_type), 'other') AS d,
           multiIf(os = 'Android', 'android',
                   os IN ('iOS', 'iPadOS'), 'ios',
                   os IN ('Mac OS X', 'macOS'), 'mac',
                   os = 'Windows', 'windows',
                   os IN ('Linux', 'Ubuntu', 'Debian', 'Fedora', 'Chrome OS', 'ChromeOS'), 'linux', 'other') AS p
    FROM views
    WHERE tenant_id = {tenant:String} AND watched_ms >= {min_watch_ms:Int64} AND started_ms >= {from_ms:Int64}
)
GROUP BY day
ORDER BY day;

-- name: engagement
-- Per range of the timeline (the longest duration among the plays, else the furthest played second),
-- the plays that played any part of it.
WITH
    (SELECT groupArray((view_id, segment, r[1], r[2]))
     FROM views ARRAY JOIN played AS r
     WHERE tenant_id = {tenant:String} AND content_id = {content:String}
       AND watched_ms >= {min_watch_ms:Int64} AND started_ms >= {from_ms:Int64}) AS ranges_played,
    (SELECT max(duration_s) FROM views
     WHERE tenant_id = {tenant:String} AND content_id = {content:String}
       AND watched_ms >= {min_watch_ms:Int64} AND started_ms >= {from_ms:Int64}) AS longest_s,
    coalesce(longest_s, arrayMax(arrayMap(x -> x.4, ranges_played))) AS length_s
SELECT number AS i,
       toFloat64(number) * length_s / toFloat64({ranges:UInt32}) AS from_s,
       toFloat64(number + 1) * length_s / toFloat64({ranges:UInt32}) AS to_s,
       length(arrayDistinct(arrayMap(x -> (x.1, x.2), arrayFilter(x -> x.3 < to_s AND x.4 > from_s, ranges_played))))
FROM numbers({ranges:UInt32})
WHERE length_s > 0
ORDER BY i;

-- name: sources_by_day
SELECT formatDateTime(toDateTime(intDiv(started_ms, 86400000) * 86400, 'UTC'), '%Y-%m-%dT%H:%i:%S.000000') AS day,
       source, extract(source, '^[^:]+://([^/]+)') AS host, count() AS plays
FROM views
WHERE tenant_id = {tenant:String} AND watched_ms >= {min_watch_ms:Int64} AND started_ms >= {from_ms:Int64}
  AND source IS NOT NULL
GROUP BY day, source
ORDER BY day, plays DESC, source;

-- name: viewers_by_country
SELECT country,
       count() AS views, uniqExact(viewer_id) AS unique_viewers, sum(watched_ms) / 60000.0 AS playtime_mins,
       quantileExactInclusiveIf(0.5)(ttff_ms, reached_first_frame AND ttff_ms IS NOT NULL) AS ttff_p50,
       quantileExactInclusiveIf(0.95)(ttff_ms, reached_first_frame AND ttff_ms IS NOT NULL) AS ttff_p95,
       if(sum(watched_ms) + sum(rebuffer_ms) = 0, 0, sum(rebuffer_ms) / (sum(watched_ms) + sum(rebuffer_ms))) AS rebuffer_ratio,
       countIf(fatal_error) / count() AS error_rate,
       countIf(NOT reached_first_frame AND NOT fatal_error) / count() AS exits_before_start
FROM views
WHERE tenant_id = {tenant:String} AND started_ms >= {from_ms:Int64}
GROUP BY country
ORDER BY country;
