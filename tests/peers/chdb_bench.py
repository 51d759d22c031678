"""ClickHouse (chDB) side of `peer-bench`: loads the lake into MergeTree tables and answers the
dashboard's queries with the SQL of tests/peers/clickhouse.sql. Prints one JSON object on stdout.

Usage:
  python tests/peers/chdb_bench.py load <session dir> <lake dir>
      -> {"load_s": s, "build_s": s, "events": n, "views": n}
  python tests/peers/chdb_bench.py query <session dir> <runs> <queries JSON>
      with <queries JSON> = {"<query name>": {"<parameter>": value, ...}, ...}
      -> {"<query name>": {"rows": [[...], ...], "ms": [t, ...]}, ...} (the first run is not timed)
The peak memory of each step is measured from outside (the process's maximum resident set).
"""
import json
import os
import sys
import time

from chdb import session

SQL_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clickhouse.sql")


def sections():
    """The named sections of clickhouse.sql: {name: sql}."""
    out, name, lines = {}, None, []
    for line in open(SQL_FILE, encoding="utf-8"):
        if line.startswith("-- name: "):
            if name:
                out[name] = "".join(lines)
            name, lines = line[len("-- name: "):].strip(), []
        elif name:
            lines.append(line)
    if name:
        out[name] = "".join(lines)
    return out


def quote(value):
    """A ClickHouse string literal for a `SET param_x = ...`."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def run(sess, sql, params, fmt="JSONCompact"):
    """Runs `sql` (one or more statements) with query parameters set first."""
    prefix = "".join(f"SET param_{k} = {quote(v)};\n" for k, v in params.items())
    return sess.query(prefix + sql, fmt)


def scalar(sess, sql):
    return int(str(sess.query(sql, "CSV")).strip())


def load(path, lake):
    sess = session.Session(path)
    sql = sections()
    started = time.perf_counter()
    run(sess, sql["schema"], {})
    run(sess, sql["load"], {"files": f"{lake}/events/v1/*/*/*/*.ndjson.gz"})
    loaded = time.perf_counter()
    run(sess, sql["build_views"], {})
    done = time.perf_counter()
    print(json.dumps({
        "load_s": done - started,
        "build_s": done - loaded,
        "events": scalar(sess, "SELECT count() FROM events"),
        "views": scalar(sess, "SELECT count() FROM views"),
    }))


def query(path, runs, queries):
    sess = session.Session(path)
    sql = sections()
    out = {}
    for name, params in queries.items():
        rows, times = None, []
        for i in range(runs + 1):
            started = time.perf_counter()
            answer = run(sess, sql[name], params)
            elapsed = (time.perf_counter() - started) * 1000.0
            if i == 0:
                rows = json.loads(answer.bytes())["data"]
            else:
                times.append(elapsed)
        out[name] = {"rows": rows, "ms": times}
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "load":
        load(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "query":
        query(sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4]))
    else:
        sys.exit(__doc__)
