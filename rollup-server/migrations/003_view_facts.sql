-- Identity: a person is the user_id where known, else the anonymous id. An `identify` links an
-- anonymous id to a user id, and that link also claims the anonymous id's earlier views.
CREATE VIEW identities AS
SELECT tenant_id, anonymous_id, arg_max(user_id, ts) AS user_id
FROM events
WHERE type = 'identify' AND user_id IS NOT NULL
GROUP BY tenant_id, anonymous_id;

-- One row per view (playback attempt, identified by view_id): what the query APIs aggregate.
-- Bots are kept out of view metrics. UA and geo dimensions come from the view's first event.
CREATE VIEW view_facts AS
WITH per_view AS (
    SELECT
        tenant_id,
        view_id,
        min(ts) FILTER (WHERE type = 'view_start')              AS started_ms,
        max(ts)                                                 AS last_ms,
        arg_min(content_id, ts)                                 AS content_id,
        arg_min(content_type, ts)                               AS content_type,
        arg_min(session_id, ts)                                 AS session_id,
        max(user_id)                                            AS user_id,
        arg_min(anonymous_id, ts)                               AS anonymous_id,
        min(ttff_ms) FILTER (WHERE type = 'first_frame')        AS ttff_ms,
        coalesce(sum(watched_ms), 0)                            AS watched_ms,
        coalesce(sum(rebuffer_ms), 0)                           AS rebuffer_ms,
        count(*) FILTER (WHERE type = 'rebuffer_start')         AS rebuffer_count,
        coalesce(bool_or(type = 'error' AND coalesce(fatal, false)), false) AS fatal_error,
        coalesce(bool_or(type = 'first_frame'), false)          AS reached_first_frame,
        max(position_s)                                         AS furthest_position_s,
        arg_min(page_url, ts)                                   AS page_url,
        arg_min(browser, ts)                                    AS browser,
        arg_min(os, ts)                                         AS os,
        arg_min(device_type, ts)                                AS device_type,
        arg_min(coalesce(device_model, device_brand), ts)       AS device,
        arg_min(continent, ts)                                  AS continent,
        arg_min(country, ts)                                    AS country,
        arg_min(subdivision, ts)                                AS subdivision,
        arg_min(timezone, ts)                                   AS timezone
    FROM events
    WHERE view_id IS NOT NULL AND device_type IS DISTINCT FROM 'bot'
    GROUP BY tenant_id, view_id
    HAVING count(*) FILTER (WHERE type = 'view_start') > 0
)
SELECT
    v.* EXCLUDE (user_id),
    coalesce(v.user_id, i.user_id, v.anonymous_id) AS viewer_id
FROM per_view v
LEFT JOIN identities i ON i.tenant_id = v.tenant_id AND i.anonymous_id = v.anonymous_id;
