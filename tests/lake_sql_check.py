"""Reads the R2 lake layout straight from a directory with two engines that are not Tapemetric: DuckDB's
own SQL (read_json) and ClickHouse (chDB, file()). Prints {"duckdb": views, "chdb": views} for one
tenant, by the view rules of docs/api.md (a view_id with a view_start, split where 30 minutes pass
without an event, a later part only if it plays; events unique by eid; bots left out).

Usage: python tests/lake_sql_check.py <lake dir> <tenant>
"""
import json
import sys

import chdb
import duckdb

lake, tenant = sys.argv[1], sys.argv[2]
files = f"{lake}/events/v1/*/*/tenant={tenant}/*.ndjson.gz"

DUCKDB_SQL = f"""
WITH raw AS (
    SELECT * FROM read_json('{files}', format = 'newline_delimited',
        columns = {{view_id: 'VARCHAR', eid: 'VARCHAR', ts: 'BIGINT', type: 'VARCHAR',
                    watched_ms: 'BIGINT', device_type: 'VARCHAR'}})
),
e AS (
    SELECT DISTINCT ON (eid) * FROM raw
    WHERE view_id IS NOT NULL AND coalesce(device_type, '') <> 'bot'
),
marked AS (
    SELECT *, CASE WHEN ts - lag(ts) OVER (PARTITION BY view_id ORDER BY ts, eid) > 1800000 THEN 1 ELSE 0 END AS brk
    FROM e
),
seg AS (
    SELECT *, sum(brk) OVER (PARTITION BY view_id ORDER BY ts, eid ROWS UNBOUNDED PRECEDING) AS segment
    FROM marked
    WHERE view_id IN (SELECT view_id FROM e WHERE type = 'view_start')
)
SELECT count(*) FROM (
    SELECT view_id, segment FROM seg GROUP BY view_id, segment
    HAVING segment = 0 OR bool_or(type IN ('view_start', 'first_frame')) OR sum(coalesce(watched_ms, 0)) > 0
)
"""

CHDB_SQL = f"""
WITH e AS (
    SELECT view_id, eid, any(ts) AS ts, any(type) AS type, any(watched_ms) AS watched_ms
    FROM file('{files}', 'JSONEachRow',
              'view_id Nullable(String), eid String, ts Int64, type String, watched_ms Nullable(Int64), device_type Nullable(String)')
    WHERE view_id IS NOT NULL AND ifNull(device_type, '') != 'bot'
    GROUP BY view_id, eid
),
marked AS (
    SELECT *, if(ts - lagInFrame(ts, 1, ts) OVER (PARTITION BY view_id ORDER BY ts, eid
                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) > 1800000, 1, 0) AS brk
    FROM e
),
seg AS (
    SELECT *, sum(brk) OVER (PARTITION BY view_id ORDER BY ts, eid ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS segment
    FROM marked
    WHERE view_id IN (SELECT view_id FROM e WHERE type = 'view_start')
)
SELECT count() FROM (
    SELECT view_id, segment FROM seg GROUP BY view_id, segment
    HAVING segment = 0 OR max(type IN ('view_start', 'first_frame')) = 1 OR sum(ifNull(watched_ms, 0)) > 0
)
"""

duck = duckdb.sql(DUCKDB_SQL).fetchone()[0]
click = int(str(chdb.query(CHDB_SQL, "CSV")).strip())
print(json.dumps({"duckdb": duck, "chdb": click}))
