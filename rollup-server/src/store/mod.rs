//! The embedded DuckDB store: migrations and the store's own records here; the write of a chunk
//! ([`write`]), API keys ([`keys`]), reads ([`read`], [`readers`]).
//! Every query binds its parameters; no SQL is built from request strings.

pub mod keys;
pub mod read;
pub mod readers;
pub mod staged;
pub mod write;

use duckdb::{params, Connection, OptionalExt};
#[cfg(test)]
use event_schema::StoredEvent;
use std::collections::HashSet;
use std::path::Path;

/// Segments below which views are not rewritten in tenant order: four of DuckDB's row groups
/// (122 880 rows each).
const COMPACT_MIN_ROWS: i64 = 4 * 122_880;

/// Migrations in order; each runs once, in a transaction with its record.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "001_events",
        include_str!("../../migrations/001_events.sql"),
    ),
    (
        2,
        "002_key_restrictions",
        include_str!("../../migrations/002_key_restrictions.sql"),
    ),
    (
        3,
        "003_view_facts",
        include_str!("../../migrations/003_view_facts.sql"),
    ),
    (
        4,
        "004_user_agent_opt_in",
        include_str!("../../migrations/004_user_agent_opt_in.sql"),
    ),
    (
        5,
        "005_materialized_views",
        include_str!("../../migrations/005_materialized_views.sql"),
    ),
    (
        6,
        "006_view_state",
        include_str!("../../migrations/006_view_state.sql"),
    ),
    (
        7,
        "007_pull_of_event",
        include_str!("../../migrations/007_pull_of_event.sql"),
    ),
    (
        8,
        "008_event_keys",
        include_str!("../../migrations/008_event_keys.sql"),
    ),
    (
        9,
        "009_quarantine",
        include_str!("../../migrations/009_quarantine.sql"),
    ),
    (
        10,
        "010_player_name",
        include_str!("../../migrations/010_player_name.sql"),
    ),
    (
        11,
        "011_viewer_in_rust",
        include_str!("../../migrations/011_viewer_in_rust.sql"),
    ),
    (
        12,
        "012_failure_kinds_and_seeks",
        include_str!("../../migrations/012_failure_kinds_and_seeks.sql"),
    ),
];

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] duckdb::Error),
    #[error("cannot decode a batch object: {0}")]
    Decode(String),
    #[error("migration {name} failed: {source}")]
    Migration { name: String, source: duckdb::Error },
}

/// The outcome of loading one batch object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOutcome {
    /// Events newly stored.
    pub inserted: u64,
    /// Events skipped because their (`tenant_id`, `eid`) was already stored.
    pub duplicates: u64,
    /// False when the object had been loaded before (nothing changed).
    pub newly_loaded: bool,
    /// Lines left out as not events or impossible (each recorded in `quarantine`).
    pub quarantined_lines: u64,
    /// Why the whole object was left out, if it was.
    pub quarantined_object: Option<String>,
}

/// One object or line a load left out, as `GET /admin/quarantine` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuarantineEntry {
    pub object_key: String,
    /// The line in the object (from 1); absent when the whole object was left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eid: Option<String>,
    pub reason: String,
    pub quarantined_at_ms: i64,
}

/// A batch object to record as loaded.
#[derive(Debug, Clone)]
pub struct ObjectRecord<'a> {
    pub key: &'a str,
    pub tenant_id: Option<&'a str>,
    pub uploaded_ms: i64,
    pub loaded_at_ms: i64,
}

/// Where load time went, summed over loads (seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct LoadTimings {
    /// Reading and parsing batch objects into the staging table.
    pub read_s: f64,
    /// Deduplicating and storing events, following identify links.
    pub store_s: f64,
    /// Recomputing the touched views (the rollup).
    pub views_s: f64,
    /// Committing.
    pub commit_s: f64,
}

/// The DuckDB database.
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) timings: LoadTimings,
    /// Rows of `views` at the last [`Store::compact_views`] (0 at start: the first pull compacts).
    compacted_rows: i64,
    /// What committed loads changed in the views since [`Store::take_view_changes`].
    pub(crate) view_changes: crate::query::ViewChanges,
}

/// The hashes of the tenants of `events` as migration 008 reads them: a temporary table
/// `tenant_hashes` (tenant_id, hash_hi, hash_lo), filled here because SQL has no xxh3.
fn tenant_hashes(tx: &duckdb::Transaction<'_>) -> Result<(), StoreError> {
    let tenants: Vec<String> = tx
        .prepare("SELECT DISTINCT tenant_id FROM events")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    tx.execute_batch(
        "CREATE TEMP TABLE tenant_hashes (tenant_id VARCHAR, hash_hi BIGINT, hash_lo BIGINT)",
    )?;
    let mut insert = tx.prepare("INSERT INTO tenant_hashes VALUES (?, ?, ?)")?;
    for tenant in &tenants {
        let hash = crate::fold::seen::tenant_hash(tenant);
        insert.execute(params![tenant, (hash >> 64) as i64, hash as i64])?;
    }
    Ok(())
}

impl Store {
    /// Opens (or creates) the database file and applies pending migrations.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        Store::migrate(conn)
    }

    /// An in-memory store, for tests.
    #[cfg(test)]
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::migrate(Connection::open_in_memory()?)
    }

    fn migrate(mut conn: Connection) -> Result<Store, StoreError> {
        // DuckDB's prebuilt Linux library allocates through jemalloc, which keeps freed pages until
        // a later allocation purges them: a query server idle after reading the views held ~130-300
        // MB it no longer used. Background threads purge them on jemalloc's decay timer instead.
        conn.execute_batch("SET allocator_background_threads = true")?;
        Store::apply_migrations(&mut conn, i64::MAX)?;
        Ok(Store {
            conn,
            timings: LoadTimings::default(),
            compacted_rows: 0,
            view_changes: Default::default(),
        })
    }

    /// Applies the pending migrations up to version `through`.
    fn apply_migrations(conn: &mut Connection, through: i64) -> Result<(), StoreError> {
        // Loads hand DuckDB their rows as Arrow record batches, read as `staged(?)`.
        crate::store::staged::register(conn)?;
        // Dashboards poll the same few queries: planning one cost ~1-1.5 ms of a ~4-10 ms answer.
        conn.set_prepared_statement_cache_capacity(128);
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name VARCHAR NOT NULL)",
        )?;
        for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 <= through) {
            let applied: Option<i64> = conn
                .query_row(
                    "SELECT version FROM schema_migrations WHERE version = ?",
                    params![version],
                    |row| row.get(0),
                )
                .optional()?;
            if applied.is_some() {
                continue;
            }
            let tx = conn.transaction()?;
            if *version == 8 {
                tenant_hashes(&tx)?;
            }
            tx.execute_batch(sql)
                .map_err(|source| StoreError::Migration {
                    name: name.to_string(),
                    source,
                })?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                params![version, name],
            )?;
            tx.commit()?;
            tracing::info!(migration = name, "applied migration");
        }
        Ok(())
    }

    /// Rewrites `views` and `view_ranges` in (tenant, time) order when at least a tenth of their rows
    /// were added since the last rewrite, so a tenant's queries read only its own row groups (DuckDB
    /// skips row groups by their min/max). Answers do not change. Returns whether it rewrote.
    ///
    /// Not below [`COMPACT_MIN_ROWS`] segments: a table of a few row groups has little to skip, and
    /// the rewrite is not free (~1 s at 195 k segments and as many ranges, at the end of every pull
    /// that grows them by a tenth, with no other work to overlap it).
    pub fn compact_views(&mut self) -> Result<bool, StoreError> {
        self.compact_views_from(COMPACT_MIN_ROWS)
    }

    /// [`Store::compact_views`] for tables of at least `min_rows` segments.
    pub(crate) fn compact_views_from(&mut self, min_rows: i64) -> Result<bool, StoreError> {
        let rows: i64 = self
            .conn
            .query_row("SELECT count(*) FROM view_segments", [], |row| row.get(0))?;
        let since = rows - self.compacted_rows;
        if rows < min_rows || since <= 0 || (since as f64) < 0.1 * rows as f64 {
            return Ok(false);
        }
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "CREATE TABLE view_segments_ordered AS SELECT * FROM view_segments ORDER BY tenant_id, started_ms;
             DROP TABLE view_segments;
             ALTER TABLE view_segments_ordered RENAME TO view_segments;
             CREATE TABLE view_ranges_ordered AS
                 SELECT * FROM view_ranges ORDER BY tenant_id, content_id, started_ms;
             DROP TABLE view_ranges;
             ALTER TABLE view_ranges_ordered RENAME TO view_ranges;",
        )?;
        tx.commit()?;
        self.compacted_rows = rows;
        Ok(true)
    }

    /// Per tenant: stored events, views, and loaded objects.
    pub fn stats(&self) -> Result<serde_json::Value, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT tenant_id, sum(events)::BIGINT, sum(views)::BIGINT, sum(objects)::BIGINT FROM (
                 SELECT t.tenant_id, count(*) AS events, 0 AS views, 0 AS objects
                 FROM events JOIN tenants t USING (tenant_no) GROUP BY ALL
                 UNION ALL SELECT tenant_id, 0, count(*), 0 FROM views GROUP BY ALL
                 UNION ALL SELECT tenant_id, 0, 0, count(*) FROM loaded_objects GROUP BY ALL)
             GROUP BY tenant_id ORDER BY tenant_id",
        )?;
        let mut tenants = serde_json::Map::new();
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, Option<String>>(0)?.unwrap_or_default(),
                serde_json::json!({
                    "events": row.get::<_, i64>(1)?,
                    "views": row.get::<_, i64>(2)?,
                    "objects": row.get::<_, i64>(3)?,
                }),
            ))
        })?;
        for row in rows {
            let (tenant, figures) = row?;
            tenants.insert(tenant, figures);
        }
        Ok(serde_json::json!({ "tenants": tenants }))
    }

    /// Load time so far, by step.
    pub fn load_timings(&self) -> LoadTimings {
        self.timings
    }

    /// Keys of loaded objects greater than `after` (the look-back window of a pull).
    pub fn loaded_object_keys_after(&self, after: &str) -> Result<HashSet<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT object_key FROM loaded_objects WHERE object_key > ?")?;
        let keys = stmt
            .query_map(params![after], |row| row.get::<_, String>(0))?
            .collect::<Result<HashSet<_>, _>>()?;
        Ok(keys)
    }

    /// Upload time of the newest loaded object, if any.
    pub fn newest_loaded_upload_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT max(uploaded_ms) FROM loaded_objects", [], |row| {
                row.get::<_, Option<i64>>(0)
            })?)
    }

    /// What loads left out of `tenant`'s objects (see migration 009), newest first, at most `limit`.
    pub fn quarantine(
        &self,
        tenant: &str,
        limit: usize,
    ) -> Result<Vec<QuarantineEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT object_key, line, eid, reason, quarantined_at_ms FROM quarantine
             WHERE tenant_id = ? ORDER BY quarantined_at_ms DESC, object_key, line LIMIT ?",
        )?;
        let rows = stmt.query_map(params![tenant, limit as i64], |row| {
            Ok(QuarantineEntry {
                object_key: row.get(0)?,
                line: row.get(1)?,
                eid: row.get(2)?,
                reason: row.get(3)?,
                quarantined_at_ms: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records from now on what loads change in the views, for an index to follow.
    pub fn follow_views(&mut self) {
        self.view_changes.follow();
    }

    /// What loads changed in the views since the last call (see [`Store::follow_views`]).
    pub fn take_view_changes(&mut self) -> crate::query::ViewChanges {
        self.view_changes.take()
    }

    /// How many lake objects are loaded (a pull that failed changed data if this moved).
    pub fn loaded_object_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM loaded_objects", [], |row| row.get(0))?)
    }

    /// A new pull's number: the events it stores carry it (see migration 007).
    pub fn next_pull(&mut self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT nextval('pull_seq')", [], |r| r.get(0))?)
    }

    /// [`Store::load_objects`], the path every pull takes.
    #[cfg(test)]
    pub fn load_batch(
        &mut self,
        object: &ObjectRecord<'_>,
        events: &[StoredEvent],
    ) -> Result<LoadOutcome, StoreError> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for e in events {
            serde_json::to_writer(&mut gz, e).expect("serialise");
            gz.write_all(b"\n").expect("write");
        }
        let blob = gz.finish().expect("gzip");
        let outcomes = self.load_objects(std::slice::from_ref(object), &[&blob])?;
        Ok(outcomes.into_iter().next().unwrap_or_default())
    }

    /// Deletes events older than `cutoff_ms` (client time) and the views that started before it, with
    /// their played ranges. Returns how many events were deleted.
    pub fn apply_retention(&mut self, cutoff_ms: i64) -> Result<u64, StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM view_ranges WHERE started_ms < ?",
            params![cutoff_ms],
        )?;
        tx.execute(
            "DELETE FROM view_segments WHERE started_ms < ?",
            params![cutoff_ms],
        )?;
        let deleted = tx.execute("DELETE FROM events WHERE ts < ?", params![cutoff_ms])? as u64;
        tx.commit()?;
        Ok(deleted)
    }

    /// Read connections to this store's database (see [`crate::store::readers`]).
    pub fn readers(
        &self,
        count: usize,
        budget: std::time::Duration,
    ) -> Result<crate::store::readers::Readers, StoreError> {
        Ok(crate::store::readers::Readers::new(
            &self.conn, count, budget,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::ContentViews;
    use event_schema::{ClientEvent, EventType, GeoFields, UserAgentFields};

    #[test]
    fn freed_memory_is_returned_to_the_system_in_the_background() {
        let store = Store::open_in_memory().expect("store");
        let on: bool = store
            .conn
            .query_row(
                "SELECT current_setting('allocator_background_threads')",
                [],
                |r| r.get(0),
            )
            .expect("setting");
        assert!(
            on,
            "jemalloc's background purge must be on for the store's connections"
        );
    }

    /// The views per content the store holds for `tenant`, as the query layer reads them.
    fn views_per_content(store: &Store, tenant: &str) -> Vec<ContentViews> {
        let index = crate::query::ViewIndex::new(store.read_views(Some(tenant)).expect("read"));
        index.views_by_content(tenant, None, None)
    }

    pub(crate) fn event(tenant: &str, eid: &str, view: &str, content: &str) -> StoredEvent {
        StoredEvent {
            tenant_id: tenant.into(),
            key_id: "k1".into(),
            received_at: 1_000,
            event: ClientEvent {
                session_id: Some("s1".into()),
                view_id: Some(view.into()),
                content_id: Some(content.into()),
                content_type: Some(event_schema::ContentType::Film),
                duration_s: Some(60.0),
                played: Some(vec![[0.0, 1.5]]),
                ..ClientEvent::new(EventType::ViewStart, 1_000, eid, "anon")
            },
            user_agent: UserAgentFields::default(),
            geo: GeoFields::default(),
        }
    }

    fn object(key: &str) -> ObjectRecord<'_> {
        ObjectRecord {
            key,
            tenant_id: Some("acme"),
            uploaded_ms: 1,
            loaded_at_ms: 2,
        }
    }

    #[test]
    fn migration_008_keys_stored_events_as_loads_do() {
        // A store at version 7, with events as that version kept them.
        let mut conn = Connection::open_in_memory().expect("db");
        Store::apply_migrations(&mut conn, 7).expect("migrate to 7");
        for (tenant, eid) in [("acme", "e1"), ("globex", "e1"), ("acme", "e2")] {
            let hash = crate::fold::seen::eid_hash(eid);
            conn.execute(
                "INSERT INTO events (tenant_id, eid_hi, eid_lo, ts, pull) VALUES (?, ?, ?, 1000, 1)",
                params![tenant, (hash >> 64) as i64, hash as i64],
            )
            .expect("old event");
        }
        let mut store = Store::migrate(conn).expect("migrate");
        let mut keys: Vec<(String, i128)> = store
            .conn
            .prepare(
                "SELECT t.tenant_id, e.key_hi, e.key_lo FROM events e JOIN tenants t USING (tenant_no)",
            )
            .expect("prepare")
            .query_map([], |row| {
                let (hi, lo) = (row.get::<_, i64>(1)?, row.get::<_, i64>(2)?);
                Ok((row.get(0)?, (i128::from(hi) << 64) | i128::from(lo as u64)))
            })
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        keys.sort();
        let expected = |t: &str, e: &str| (t.to_string(), crate::fold::seen::event_key(t, e));
        let mut want = vec![
            expected("acme", "e1"),
            expected("acme", "e2"),
            expected("globex", "e1"),
        ];
        want.sort();
        assert_eq!(keys, want);
        // The events stored before the migration are recognised by a load, tenant by tenant, and a
        // new tenant gets a number of its own.
        let again = store
            .load_batch(
                &object("o1"),
                &[
                    event("acme", "e1", "v1", "film-a"),
                    event("globex", "e1", "v1", "film-a"),
                    event("initech", "e1", "v1", "film-a"),
                    event("acme", "e3", "v3", "film-a"),
                ],
            )
            .expect("load");
        assert_eq!((again.inserted, again.duplicates), (2, 2));
        let stats = store.stats().expect("stats");
        assert_eq!(stats["tenants"]["acme"]["events"], 3);
        assert_eq!(stats["tenants"]["globex"]["events"], 1);
        assert_eq!(stats["tenants"]["initech"]["events"], 1);
    }

    #[test]
    fn the_same_object_loads_once() {
        let mut store = Store::open_in_memory().expect("store");
        let events = [
            event("acme", "e1", "v1", "film-a"),
            event("acme", "e2", "v2", "film-a"),
        ];
        let first = store.load_batch(&object("o1"), &events).expect("load");
        assert_eq!(
            (first.inserted, first.duplicates, first.newly_loaded),
            (2, 0, true)
        );
        let again = store.load_batch(&object("o1"), &events).expect("reload");
        assert!(!again.newly_loaded);
        let views = views_per_content(&store, "acme");
        assert_eq!(
            views,
            vec![ContentViews {
                content_id: "film-a".into(),
                views: 2
            }]
        );
    }

    #[test]
    fn repeated_event_ids_count_once_across_and_within_objects() {
        let mut store = Store::open_in_memory().expect("store");
        let e1 = event("acme", "e1", "v1", "film-a");
        let first = store
            .load_batch(&object("o1"), &[e1.clone(), e1.clone()])
            .expect("load");
        assert_eq!((first.inserted, first.duplicates), (1, 1));
        let second = store
            .load_batch(&object("o2"), &[e1, event("acme", "e3", "v3", "film-b")])
            .expect("load");
        assert_eq!((second.inserted, second.duplicates), (1, 1));
        let views = views_per_content(&store, "acme");
        assert_eq!(views.iter().map(|v| v.views).sum::<i64>(), 2);
    }

    #[test]
    fn retention_deletes_old_events_only() {
        let mut store = Store::open_in_memory().expect("store");
        let mut old = event("acme", "old", "v-old", "film-a");
        old.event.ts = 500;
        store
            .load_batch(
                &object("o1"),
                &[old, event("acme", "new", "v-new", "film-a")],
            )
            .expect("load");
        assert_eq!(store.apply_retention(1_000).expect("retention"), 1);
        let views = views_per_content(&store, "acme");
        assert_eq!(
            views,
            vec![ContentViews {
                content_id: "film-a".into(),
                views: 1
            }]
        );
        assert_eq!(
            store.apply_retention(1_000).expect("again"),
            0,
            "idempotent"
        );
    }

    #[test]
    fn tenants_never_see_each_other() {
        let mut store = Store::open_in_memory().expect("store");
        store
            .load_batch(
                &object("o1"),
                &[
                    event("acme", "e1", "v1", "film-a"),
                    event("other", "e1", "v1", "film-z"),
                ],
            )
            .expect("load");
        let acme = views_per_content(&store, "acme");
        assert_eq!(
            acme,
            vec![ContentViews {
                content_id: "film-a".into(),
                views: 1
            }]
        );
    }
}
