-- Recomputes the views listed in `views_affected` from their events (run inside the load's transaction,
-- after the new events are stored). A view is the events of one view_id, split into segments where
-- 30 minutes pass without an event (a view_end ends a view, but events of the same view_id that follow
-- it within 30 minutes, such as a last heartbeat sent in the same millisecond, still belong to it); a
-- view_id without any view_start is no view,
-- and a later segment without playback is none either.
-- Bots are left out. UA and geo dimensions come from the view's first event.
DELETE FROM views WHERE (tenant_id, view_id) IN (SELECT tenant_id, view_id FROM views_affected);
DELETE FROM view_ranges WHERE (tenant_id, view_id) IN (SELECT tenant_id, view_id FROM views_affected);

CREATE OR REPLACE TEMP TABLE view_events AS
WITH touched AS (
    SELECT e.tenant_id, e.view_id, e.eid, e.ts, e.type, e.content_id, e.content_type, e.session_id,
           e.anonymous_id, e.user_id, e.ttff_ms, e.watched_ms, e.rebuffer_ms, e.fatal, e.position_s,
           e.duration_s, e.page_url, e.browser, e.os, e.device_type, e.device_model, e.device_brand,
           e.continent, e.country, e.subdivision, e.timezone, e.props, e.played,
           coalesce(e.ts - lag(e.ts) OVER w > 1800000, false) AS breaks
    FROM events e
    SEMI JOIN views_affected a ON e.tenant_id = a.tenant_id AND e.view_id = a.view_id
    WHERE e.device_type IS DISTINCT FROM 'bot'
    WINDOW w AS (PARTITION BY e.tenant_id, e.view_id ORDER BY e.ts, e.eid)
)
SELECT *,
       (sum(breaks::INTEGER) OVER (PARTITION BY tenant_id, view_id ORDER BY ts, eid
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))::INTEGER AS segment
FROM touched
QUALIFY bool_or(type = 'view_start') OVER (PARTITION BY tenant_id, view_id);

INSERT INTO views BY NAME
SELECT
    v.tenant_id, v.view_id, v.segment, v.started_ms, v.last_ms, v.content_id, v.content_type,
    v.session_id, v.anonymous_id, v.user_id,
    coalesce(v.user_id, i.user_id, v.anonymous_id) AS viewer_id,
    hash(coalesce(v.user_id, i.user_id, v.anonymous_id)) AS viewer_key,
    v.ttff_ms, v.watched_ms, v.rebuffer_ms, v.rebuffer_count, v.fatal_error, v.reached_first_frame,
    v.ended, v.furthest_position_s, v.duration_s, v.page_url,
    regexp_extract(v.page_url, '^([a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]+[^?#]*)', 1) AS source,
    CASE
        WHEN v.os = 'iOS' THEN 'WebKit'
        WHEN v.browser IN ('Safari', 'Mobile Safari', 'Mobile Safari UI/WKWebView') THEN 'WebKit'
        WHEN v.browser IN ('Firefox', 'Firefox Mobile', 'Firefox iOS') THEN 'Gecko'
        WHEN v.browser IN ('Chrome', 'Chrome Mobile', 'Chrome Mobile WebView', 'Chromium', 'Edge',
                           'Opera', 'Samsung Internet', 'Brave', 'Vivaldi', 'Yandex Browser',
                           'HeadlessChrome') THEN 'Blink'
        ELSE NULL
    END AS browser_engine,
    v.browser, v.os, v.device_type, v.device, v.continent, v.country, v.subdivision, v.timezone, v.props
FROM (
    SELECT
        tenant_id, view_id, segment,
        min(ts)                                                  AS started_ms,
        max(ts)                                                  AS last_ms,
        arg_min(content_id, ts)                                  AS content_id,
        arg_min(content_type, ts)                                AS content_type,
        arg_min(session_id, ts)                                  AS session_id,
        arg_min(anonymous_id, ts)                                AS anonymous_id,
        max(user_id)                                             AS user_id,
        min(ttff_ms) FILTER (WHERE type = 'first_frame')         AS ttff_ms,
        coalesce(sum(watched_ms), 0)                             AS watched_ms,
        coalesce(sum(rebuffer_ms), 0)                            AS rebuffer_ms,
        count(*) FILTER (WHERE type = 'rebuffer_start')          AS rebuffer_count,
        coalesce(bool_or(type = 'error' AND coalesce(fatal, false)), false) AS fatal_error,
        -- A continuation (segment > 0) that played was started by definition.
        coalesce(bool_or(type = 'first_frame'), false)
            OR (segment > 0 AND coalesce(sum(watched_ms), 0) > 0) AS reached_first_frame,
        coalesce(bool_or(type IN ('ended', 'view_end')), false)  AS ended,
        max(position_s)                                          AS furthest_position_s,
        max(duration_s)                                          AS duration_s,
        arg_min(page_url, ts)                                    AS page_url,
        arg_min(browser, ts)                                     AS browser,
        arg_min(os, ts)                                          AS os,
        arg_min(device_type, ts)                                 AS device_type,
        arg_min(coalesce(device_model, device_brand), ts)        AS device,
        arg_min(continent, ts)                                   AS continent,
        arg_min(country, ts)                                     AS country,
        arg_min(subdivision, ts)                                 AS subdivision,
        arg_min(timezone, ts)                                    AS timezone,
        arg_min(props, ts)                                       AS props
    FROM view_events
    GROUP BY tenant_id, view_id, segment
    -- A later segment is a view only if playback happened in it (not, say, a lone view_end sent when
    -- the page closed after a long idle).
    HAVING segment = 0 OR bool_or(type IN ('view_start', 'first_frame')) OR coalesce(sum(watched_ms), 0) > 0
) v
LEFT JOIN identities i ON i.tenant_id = v.tenant_id AND i.anonymous_id = v.anonymous_id;

-- Played ranges, merged per view where they touch or overlap (a heartbeat's range usually continues the
-- previous one), so a view keeps a few rows instead of one per heartbeat.
INSERT INTO view_ranges BY NAME
WITH raw AS (
    SELECT tenant_id, view_id, segment, content_id, started_ms, r[1] AS from_s, r[2] AS to_s
    FROM (
        SELECT e.tenant_id, e.view_id, e.segment, v.content_id, v.started_ms,
               unnest(e.played::DOUBLE[][]) AS r
        FROM view_events e
        JOIN views v ON v.tenant_id = e.tenant_id AND v.view_id = e.view_id AND v.segment = e.segment
        WHERE e.played IS NOT NULL
    )
    WHERE len(r) = 2 AND r[2] > r[1]
),
marked AS (
    SELECT *,
           coalesce(from_s > max(to_s) OVER (PARTITION BY tenant_id, view_id, segment ORDER BY from_s, to_s
                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), true)::INTEGER AS opens
    FROM raw
),
islands AS (
    SELECT *, sum(opens) OVER (PARTITION BY tenant_id, view_id, segment ORDER BY from_s, to_s
                               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS island
    FROM marked
)
SELECT tenant_id, view_id, segment, any_value(content_id) AS content_id, any_value(started_ms) AS started_ms,
       min(from_s) AS from_s, max(to_s) AS to_s
FROM islands
GROUP BY tenant_id, view_id, segment, island;

DROP TABLE view_events;
DELETE FROM views_affected;
