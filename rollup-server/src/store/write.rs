//! Loading batch objects: decode (Rust, several threads), keep each event once, follow identify
//! links, fold the events into the stored state of the views they touch, and record the objects, all
//! in one transaction, so a crash at any point leaves either nothing or everything.

use crate::fold::view::{browser_engine, source_of, Dim, Segment, SegmentRow, Timeline};
use crate::fold::{fold_chunk, fold_objects, fold_threads, FoldedChunk, FoldedLoad, ViewMap};
use crate::query::params::Dimension;
use crate::query::views::{text_key, view_keys, Qoe, ViewRecord};
use crate::query::{OwnedView, ViewChanges};
use crate::store::staged::StagedBatch;
use crate::store::{LoadOutcome, ObjectRecord, Store, StoreError};
use duckdb::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use duckdb::{params, Transaction};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Declares the columns of `view_segments` that hold a [`Segment`]'s own state, each named as its
/// field: the write (Arrow columns) and the read of stored segments both come from this list.
macro_rules! state_columns {
    ($($field:ident),* $(,)?) => {
        /// The state columns, in the order [`read_state`] reads them.
        const STATE_COLUMNS: &[&str] = &[$(stringify!($field)),*];

        /// The state columns of `rows`.
        fn state_arrays(rows: &[(&str, &str, SegmentRow<'_>)]) -> Vec<(&'static str, ArrayRef)> {
            vec![$((stringify!($field), column(rows.iter().map(|(_, _, row)| &row.state.$field)))),*]
        }

        /// Reads the state columns from `row`, the first at `at`.
        fn read_state(row: &duckdb::Row<'_>, at: usize, segment: &mut Segment) -> duckdb::Result<()> {
            let mut i = at;
            $(
                segment.$field = row.get(i)?;
                i += 1;
            )*
            let _ = i;
            Ok(())
        }
    };
}

state_columns!(
    started_ms,
    last_ms,
    last_received_ms,
    first_eid,
    has_view_start,
    has_first_frame,
    user_id,
    ttff_ms,
    watched_ms,
    rebuffer_ms,
    rebuffer_count,
    fatal_error,
    playback_failure,
    business_exception,
    seek_count,
    seek_ms,
    ended,
    furthest_position_s,
    duration_s,
);

/// Declares the fields of a view's [`Qoe`], each a state column of the same name: how the write
/// takes them from a segment and the read from the `views` table both come from this list (the
/// struct literals make the compiler ask for every field).
macro_rules! qoe_columns {
    ($($field:ident),* $(,)?) => {
        /// A segment's [`Qoe`].
        fn qoe_of(s: &Segment) -> Qoe {
            Qoe { $($field: s.$field),* }
        }

        /// The `views` columns of [`Qoe`], in the order [`read_qoe`] reads them.
        pub(super) const QOE_COLUMNS: &[&str] = &[$(stringify!($field)),*];

        /// Reads a [`Qoe`] from `row`, its first column at `at`.
        pub(super) fn read_qoe(row: &duckdb::Row<'_>, at: usize) -> duckdb::Result<Qoe> {
            let mut columns = at..;
            Ok(Qoe { $($field: row.get(columns.next().unwrap_or(at))?),* })
        }
    };
}

qoe_columns!(
    rebuffer_count,
    ended,
    playback_failure,
    business_exception,
    seek_count,
    seek_ms
);

/// A value type of a stored column, as an Arrow array.
trait ColumnValue {
    fn array<'a>(values: impl Iterator<Item = &'a Self>) -> ArrayRef
    where
        Self: 'a;
}

impl ColumnValue for i64 {
    fn array<'a>(values: impl Iterator<Item = &'a i64>) -> ArrayRef {
        ints(values.map(|v| Some(*v)))
    }
}

impl ColumnValue for Option<i64> {
    fn array<'a>(values: impl Iterator<Item = &'a Option<i64>>) -> ArrayRef {
        ints(values.copied())
    }
}

impl ColumnValue for Option<f64> {
    fn array<'a>(values: impl Iterator<Item = &'a Option<f64>>) -> ArrayRef {
        floats(values.copied())
    }
}

impl ColumnValue for bool {
    fn array<'a>(values: impl Iterator<Item = &'a bool>) -> ArrayRef {
        bools(values.copied())
    }
}

impl ColumnValue for String {
    fn array<'a>(values: impl Iterator<Item = &'a String>) -> ArrayRef {
        strings(values.map(|v| Some(v.as_str())))
    }
}

impl ColumnValue for Option<String> {
    fn array<'a>(values: impl Iterator<Item = &'a Option<String>>) -> ArrayRef {
        strings(values.map(|v| v.as_deref()))
    }
}

fn column<'a, T: ColumnValue + 'a>(values: impl Iterator<Item = &'a T>) -> ArrayRef {
    T::array(values)
}

/// A query dimension's value for a stored segment whose viewer is `viewer`: one of its own
/// dimensions, or one derived from them (the page's source, the browser's engine). The stored columns
/// and the index's views both take them from here.
fn dimension_value<'a>(
    row: &SegmentRow<'a>,
    viewer: Option<&'a str>,
    dimension: Dimension,
) -> Option<&'a str> {
    let dims = &row.state.dims;
    let own = |dim: Dim| dims.get(dim);
    match dimension {
        Dimension::ContentId => own(Dim::ContentId),
        Dimension::ContentType => own(Dim::ContentType),
        Dimension::Browser => own(Dim::Browser),
        Dimension::BrowserEngine => browser_engine(own(Dim::Browser), own(Dim::Os)),
        Dimension::Os => own(Dim::Os),
        Dimension::DeviceType => own(Dim::DeviceType),
        Dimension::Device => own(Dim::Device),
        Dimension::Continent => own(Dim::Continent),
        Dimension::Country => own(Dim::Country),
        Dimension::Subdivision => own(Dim::Subdivision),
        Dimension::Timezone => own(Dim::Timezone),
        Dimension::ViewerId => viewer,
        // A page that is no URL has the empty source.
        Dimension::Source => own(Dim::PageUrl).map(|url| source_of(url).unwrap_or("")),
        Dimension::PlayerName => own(Dim::PlayerName),
    }
}

/// A counted segment as the index takes it.
fn view_record<'a>(view_id: &str, row: &SegmentRow<'a>, viewer: Option<&'a str>) -> ViewRecord<'a> {
    let s = row.state;
    let (view, who) = view_keys(view_id, s.dims.get(Dim::SessionId));
    ViewRecord {
        view,
        segment: row.segment,
        started_ms: s.started_ms,
        viewer_key: viewer.map(text_key),
        ttff_ms: s.ttff_ms,
        watched_ms: s.watched_ms,
        rebuffer_ms: s.rebuffer_ms,
        fatal_error: s.fatal_error,
        reached_first_frame: row.reached_first_frame,
        qoe: qoe_of(s),
        dims: Dimension::ALL.map(|d| dimension_value(row, viewer, d)),
        duration_s: s.duration_s,
        last_ms: s.last_ms,
        who,
        ranges: &s.ranges,
        props: s.dims.get(Dim::Props),
    }
}

/// Every column of `view_segments` for `rows` (`viewers[i]` is the viewer of `rows[i]`): the keys,
/// the state, what follows from the segment's place in its timeline, the dimensions, and the
/// columns derived from them.
fn segment_columns(
    rows: &[(&str, &str, SegmentRow<'_>)],
    viewers: &[Option<&str>],
) -> Vec<(&'static str, ArrayRef)> {
    let dim = |dim: Dim| strings(rows.iter().map(move |(_, _, row)| row.state.dims.get(dim)));
    let derived = |d: Dimension| {
        strings(
            rows.iter()
                .zip(viewers)
                .map(move |((_, _, row), viewer)| dimension_value(row, *viewer, d)),
        )
    };
    let mut columns = vec![
        ("tenant_id", strings(rows.iter().map(|(t, _, _)| Some(*t)))),
        ("view_id", strings(rows.iter().map(|(_, v, _)| Some(*v)))),
        (
            "segment",
            Arc::new(Int32Array::from_iter_values(
                rows.iter().map(|(_, _, row)| row.segment),
            )) as ArrayRef,
        ),
        ("counted", bools(rows.iter().map(|(_, _, row)| row.counted))),
        (
            "reached_first_frame",
            bools(rows.iter().map(|(_, _, row)| row.reached_first_frame)),
        ),
    ];
    columns.extend(state_arrays(rows));
    columns.extend(Dim::ALL.map(|d| (d.column(), dim(d))));
    for d in [
        Dimension::Source,
        Dimension::BrowserEngine,
        Dimension::ViewerId,
    ] {
        columns.push((d.column(), derived(d)));
    }
    columns
}

impl Store {
    /// Loads batch objects (`blobs[i]` holds `objects[i]`, gzip NDJSON as the edge writes them) and
    /// records them, in one transaction. Objects recorded before are skipped; events already stored
    /// (same tenant and `eid`, from a retry or a re-flush) and later copies within the load are
    /// skipped; lines that are not events are skipped and logged. One outcome per object, in order.
    pub fn load_objects(
        &mut self,
        objects: &[ObjectRecord<'_>],
        blobs: &[&[u8]],
    ) -> Result<Vec<LoadOutcome>, StoreError> {
        let decoded = fold_chunk(blobs, None);
        self.load_folded(objects, blobs, decoded)
    }

    /// [`Store::load_objects`] with the chunk decoded already (by [`fold_chunk`] of `blobs`).
    pub fn load_folded(
        &mut self,
        objects: &[ObjectRecord<'_>],
        blobs: &[&[u8]],
        decoded: FoldedChunk,
    ) -> Result<Vec<LoadOutcome>, StoreError> {
        self.load_folded_beside(objects, blobs, decoded, true)
    }

    /// [`Store::load_folded`], told whether the next chunk decodes meanwhile (`decoding`). If it
    /// does, DuckDB gets one thread: the decoding threads use the other cores, and DuckDB's idle
    /// workers spinning for tasks cost more than its parallelism gains on these statements
    /// (`make bench-rollup` shows the load's time and CPU). The last chunk of a pull has
    /// nothing beside it and gets DuckDB's default, every core.
    pub fn load_folded_beside(
        &mut self,
        objects: &[ObjectRecord<'_>],
        blobs: &[&[u8]],
        decoded: FoldedChunk,
        decoding: bool,
    ) -> Result<Vec<LoadOutcome>, StoreError> {
        let tenants = decoded.load.tenants.clone();
        let loaded = if decoding {
            self.conn.execute_batch("SET threads = 1")?;
            let loaded = self.load_folded_in_tx(objects, blobs, decoded);
            self.conn.execute_batch("RESET threads")?;
            loaded
        } else {
            self.load_folded_in_tx(objects, blobs, decoded)
        };
        if loaded.is_err() {
            // What it recorded of the views did not commit: the index reads these tenants again.
            for tenant in &tenants {
                self.view_changes.reread(tenant);
            }
        }
        loaded
    }

    fn load_folded_in_tx(
        &mut self,
        objects: &[ObjectRecord<'_>],
        blobs: &[&[u8]],
        decoded: FoldedChunk,
    ) -> Result<Vec<LoadOutcome>, StoreError> {
        let tx = self.conn.transaction()?;
        let mut outcomes = vec![LoadOutcome::default(); objects.len()];
        // One statement for the chunk's hundreds of objects (one lookup each cost ~0.5 ms).
        let loaded: HashSet<String> = {
            let keys = scan(vec![(
                "object_key",
                strings(objects.iter().map(|o| Some(o.key))),
            )])?;
            let mut stmt = tx.prepare(
                "SELECT object_key FROM loaded_objects
                 WHERE object_key IN (SELECT object_key FROM staged(?))",
            )?;
            let rows = stmt.query_map(params![&keys], |row| row.get::<_, String>(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut fresh = Vec::new();
        let mut keys = HashSet::new();
        for (i, object) in objects.iter().enumerate() {
            if keys.insert(object.key) && !loaded.contains(object.key) {
                fresh.push(i);
            }
        }
        if fresh.is_empty() {
            return Ok(outcomes);
        }
        let fresh_blobs: Vec<&[u8]> = fresh.iter().map(|&i| blobs[i]).collect();
        let clock = std::time::Instant::now();
        let (mut load, mut pull) = if fresh.len() == objects.len() {
            (decoded.load, decoded.pull)
        } else {
            // Some objects were loaded meanwhile (another pull): decode only the others.
            let load = fold_objects(&fresh_blobs, &HashSet::new(), fold_threads(), None);
            (load, None)
        };
        let decoded_s = clock.elapsed().as_secs_f64();
        self.timings.read_s += decoded.decode_s;

        // Exactly once: events stored before are found by one semi-join of this load's ids.
        let mut ids = id_batch(&tx, &load, pull)?;
        let staged_s = clock.elapsed().as_secs_f64();
        let stored = stored_duplicates(&tx, &ids, pull)?;
        let probed_s = clock.elapsed().as_secs_f64();
        let mut exclude = stored;
        while !exclude.is_empty() {
            // Rare (a retry or re-flush of events loaded before): decode again leaving them out.
            // The first decode skipped copies of events in the pull's earlier chunks; this one
            // does not know those chunks, so its ids are checked again until none is stored.
            load = fold_objects(&fresh_blobs, &exclude, fold_threads(), None);
            // Decoded without the pull's set: copies in the pull's earlier chunks count too.
            pull = None;
            ids = id_batch(&tx, &load, pull)?;
            let more = stored_duplicates(&tx, &ids, pull)?;
            if more.is_empty() {
                break;
            }
            exclude.extend(more);
        }
        tx.execute("INSERT INTO events SELECT * FROM staged(?)", params![&ids])?;
        drop(ids);
        let inserted_s = clock.elapsed().as_secs_f64();
        store_identities(&tx, &load, &mut self.view_changes)?;
        let stored_s = clock.elapsed().as_secs_f64();

        store_quarantine(&tx, &load, |n| &objects[fresh[n]])?;
        store_views(&tx, load.views, &load.tenants, &mut self.view_changes)?;
        let views_s = clock.elapsed().as_secs_f64();

        // The record of the objects, in one statement too.
        let records = {
            let fresh_objects = || fresh.iter().map(|&i| &objects[i]);
            let counts = &load.per_object[..fresh.len()];
            scan(vec![
                ("object_key", strings(fresh_objects().map(|o| Some(o.key)))),
                ("tenant_id", strings(fresh_objects().map(|o| o.tenant_id))),
                (
                    "uploaded_ms",
                    ints(fresh_objects().map(|o| Some(o.uploaded_ms))),
                ),
                (
                    "loaded_at_ms",
                    ints(fresh_objects().map(|o| Some(o.loaded_at_ms))),
                ),
                (
                    "events",
                    ints(counts.iter().map(|c| Some(c.inserted as i64))),
                ),
                (
                    "duplicates",
                    ints(counts.iter().map(|c| Some(c.duplicates as i64))),
                ),
                (
                    "quarantined",
                    ints(counts.iter().map(|c| Some(c.rejected as i64))),
                ),
            ])?
        };
        tx.execute(
            "INSERT INTO loaded_objects
                 (object_key, tenant_id, uploaded_ms, loaded_at_ms, events, duplicates, quarantined)
             SELECT * FROM staged(?)",
            params![&records],
        )?;
        let mut left_out: Vec<Option<String>> = vec![None; fresh.len()];
        for q in load.quarantine.iter().filter(|q| q.line.is_none()) {
            left_out[q.object] = Some(q.reason.clone());
        }
        for ((n, &i), quarantined_object) in fresh.iter().enumerate().zip(left_out) {
            let counts = load.per_object[n];
            outcomes[i] = LoadOutcome {
                inserted: counts.inserted,
                duplicates: counts.duplicates,
                newly_loaded: true,
                quarantined_lines: counts.rejected,
                quarantined_object,
            };
        }
        tx.commit()?;
        let committed_s = clock.elapsed().as_secs_f64();
        self.timings.read_s += decoded_s;
        self.timings.store_s += stored_s - decoded_s;
        self.timings.views_s += views_s - stored_s;
        self.timings.commit_s += committed_s - views_s;
        tracing::debug!(
            decoded_s,
            staged_s,
            probed_s,
            inserted_s,
            stored_s,
            views_s,
            committed_s,
            "load timings"
        );
        Ok(outcomes)
    }
}

/// Records what the load left out (`quarantine`, migration 009); `object(n)` is the record of the
/// load's object `n`. Logged too: a quarantined object is what an operator looks for first.
fn store_quarantine<'o>(
    tx: &Transaction<'_>,
    load: &FoldedLoad,
    object: impl Fn(usize) -> &'o ObjectRecord<'o>,
) -> Result<(), StoreError> {
    if load.quarantine.is_empty() {
        return Ok(());
    }
    for q in load.quarantine.iter().filter(|q| q.line.is_none()) {
        let record = object(q.object);
        tracing::warn!(object = record.key, reason = %q.reason, "quarantined a lake object");
    }
    let lines: u64 = load.per_object.iter().map(|c| c.rejected).sum();
    if lines > 0 {
        tracing::warn!(
            lines,
            "quarantined lines that are not events or hold impossible values"
        );
    }
    let rows = || load.quarantine.iter().map(|q| (q, object(q.object)));
    let batch = scan(vec![
        ("object_key", strings(rows().map(|(_, o)| Some(o.key)))),
        ("tenant_id", strings(rows().map(|(_, o)| o.tenant_id))),
        ("line", ints(rows().map(|(q, _)| q.line.map(|l| l as i64)))),
        ("eid", strings(rows().map(|(q, _)| q.eid.as_deref()))),
        (
            "reason",
            strings(rows().map(|(q, _)| Some(q.reason.as_str()))),
        ),
        (
            "quarantined_at_ms",
            ints(rows().map(|(_, o)| Some(o.loaded_at_ms))),
        ),
    ])?;
    tx.execute(
        "INSERT INTO quarantine SELECT * FROM staged(?)",
        params![&batch],
    )?;
    Ok(())
}

/// Columns as a record batch that statements read as `staged(?)` while the guard lives. Loads stage
/// rows this way rather than in temp tables: DuckDB 2.0 silently dropped appends of more than a couple
/// of row groups to a temp table of a file database (`large_loads_store_every_event`).
fn scan(columns: Vec<(&'static str, ArrayRef)>) -> Result<StagedBatch, StoreError> {
    let batch = RecordBatch::try_from_iter(columns)
        .map_err(|e| StoreError::Decode(format!("building a record batch: {e}")))?;
    Ok(StagedBatch::new(batch))
}

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(StringArray::from_iter(values))
}

fn ints(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(Int64Array::from_iter(values))
}

fn floats(values: impl Iterator<Item = Option<f64>>) -> ArrayRef {
    Arc::new(Float64Array::from_iter(values))
}

fn bools(values: impl Iterator<Item = bool>) -> ArrayRef {
    Arc::new(BooleanArray::from_iter(values.map(Some)))
}

/// The load's events (the shape of `events`), stored by `pull` (0: outside a pull).
fn id_batch(
    tx: &Transaction<'_>,
    load: &FoldedLoad,
    pull: Option<i64>,
) -> Result<StagedBatch, StoreError> {
    let numbers = tenant_numbers(tx, &load.tenants)?;
    let ids = &load.ids;
    scan(vec![
        (
            "tenant_no",
            Arc::new(Int32Array::from_iter_values(
                ids.iter().map(|id| numbers[id.tenant as usize]),
            )) as ArrayRef,
        ),
        (
            "key_hi",
            ints(ids.iter().map(|id| Some((id.key >> 64) as i64))),
        ),
        ("key_lo", ints(ids.iter().map(|id| Some(id.key as i64)))),
        ("ts", ints(ids.iter().map(|id| Some(id.ts)))),
        ("pull", ints(ids.iter().map(|_| Some(pull.unwrap_or(0))))),
    ])
}

/// The numbers of `tenants` in `tenants` (the table), numbering new ones.
fn tenant_numbers(tx: &Transaction<'_>, tenants: &[String]) -> Result<Vec<i32>, StoreError> {
    let names = scan(vec![(
        "tenant_id",
        strings(tenants.iter().map(|t| Some(t.as_str()))),
    )])?;
    tx.execute(
        "INSERT INTO tenants
         SELECT (SELECT coalesce(max(tenant_no), 0) FROM tenants) + row_number() OVER (ORDER BY tenant_id),
                tenant_id
         FROM (SELECT DISTINCT tenant_id FROM staged(?))
         WHERE tenant_id NOT IN (SELECT tenant_id FROM tenants)",
        params![&names],
    )?;
    let numbers: HashMap<String, i32> = tx
        .prepare(
            "SELECT tenant_id, tenant_no FROM tenants
             WHERE tenant_id IN (SELECT tenant_id FROM staged(?))",
        )?
        .query_map(params![&names], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    tenants
        .iter()
        .map(|t| {
            numbers
                .get(t)
                .copied()
                .ok_or_else(|| StoreError::Decode(format!("tenant {t:?} has no number")))
        })
        .collect()
}

/// Keys of the batch's events stored before: by earlier pulls if the batch is of `pull` and was
/// checked against the pull's earlier chunks (the pull's own row groups are skipped by their zone
/// maps), else by any load. One semi-join on the key columns of `events`.
fn stored_duplicates(
    tx: &Transaction<'_>,
    ids: &StagedBatch,
    pull: Option<i64>,
) -> Result<HashSet<i128>, StoreError> {
    // Pulls are numbered from 1; `i64::MAX` takes every stored event.
    let before = pull.unwrap_or(i64::MAX);
    // The first pull into an empty store (an import, a rebuild) has nothing to check against:
    // counting reads only the `pull` column, one constant per row group.
    let earlier: i64 = tx.query_row(
        "SELECT count(*) FROM events WHERE pull < ?",
        params![before],
        |r| r.get(0),
    )?;
    if earlier == 0 {
        return Ok(HashSet::new());
    }
    let rows = tx
        .prepare(
            "SELECT e.key_hi, e.key_lo FROM events e SEMI JOIN staged(?) i
             ON e.key_hi = i.key_hi AND e.key_lo = i.key_lo
             WHERE e.pull < ?",
        )?
        .query_map(params![ids, before], |row| {
            let (hi, lo) = (row.get::<_, i64>(0)?, row.get::<_, i64>(1)?);
            Ok((i128::from(hi) << 64) | i128::from(lo as u64))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// identify links: the latest per anonymous id wins; stored views of that anonymous id follow.
fn store_identities(
    tx: &Transaction<'_>,
    load: &FoldedLoad,
    changes: &mut ViewChanges,
) -> Result<(), StoreError> {
    if load.identifies.is_empty() {
        return Ok(());
    }
    let links = &load.identifies;
    let tenant = |i: &crate::fold::Identify| Some(load.tenants[i.tenant as usize].as_str());
    let new = scan(vec![
        ("tenant_id", strings(links.iter().map(tenant))),
        (
            "anonymous_id",
            strings(links.iter().map(|i| Some(i.anonymous_id.as_str()))),
        ),
        (
            "user_id",
            strings(links.iter().map(|i| Some(i.user_id.as_str()))),
        ),
        ("ts", ints(links.iter().map(|i| Some(i.ts)))),
    ])?;
    tx.execute(
        "INSERT INTO identities
         SELECT tenant_id, anonymous_id, arg_max(user_id, ts), max(ts) FROM staged(?)
         GROUP BY tenant_id, anonymous_id
         ON CONFLICT (tenant_id, anonymous_id) DO UPDATE SET
             user_id = CASE WHEN excluded.ts >= identities.ts THEN excluded.user_id ELSE identities.user_id END,
             ts = greatest(excluded.ts, identities.ts)",
        params![&new],
    )?;
    // Stored segments without a user id of their own now count as the linked user's.
    let mut stmt = tx.prepare(
        "UPDATE view_segments SET viewer_id = i.user_id
         FROM identities i
         WHERE view_segments.tenant_id = i.tenant_id AND view_segments.anonymous_id = i.anonymous_id
           AND view_segments.user_id IS NULL AND view_segments.viewer_id IS DISTINCT FROM i.user_id
           AND (i.tenant_id, i.anonymous_id) IN (SELECT tenant_id, anonymous_id FROM staged(?))
         RETURNING tenant_id, view_id, segment, viewer_id, counted",
    )?;
    let mut moved = stmt.query(params![&new])?;
    while let Some(row) = moved.next()? {
        let (tenant, view_id, segment, viewer, counted): (String, String, i32, String, bool) = (
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
        );
        if let Some(tenant) = changes.tenant_with_room(&tenant, 0).filter(|_| counted) {
            tenant.set_viewer(&view_id, segment, &viewer);
        }
    }
    Ok(())
}

/// The user each (tenant, anonymous id) of `rows` without a user id of its own is linked to.
fn linked_users(
    tx: &Transaction<'_>,
    rows: &[(&str, &str, SegmentRow<'_>)],
) -> Result<HashMap<String, HashMap<String, String>>, StoreError> {
    let anonymous: Vec<(&str, &str)> = rows
        .iter()
        .filter(|(_, _, row)| row.state.user_id.is_none())
        .filter_map(|(t, _, row)| Some((*t, row.state.dims.get(Dim::AnonymousId)?)))
        .collect();
    if anonymous.is_empty() {
        return Ok(HashMap::new());
    }
    let keys = scan(vec![
        ("tenant_id", strings(anonymous.iter().map(|k| Some(k.0)))),
        ("anonymous_id", strings(anonymous.iter().map(|k| Some(k.1)))),
    ])?;
    let mut stmt = tx.prepare(
        "SELECT tenant_id, anonymous_id, user_id FROM identities
         SEMI JOIN staged(?) k ON identities.tenant_id = k.tenant_id AND identities.anonymous_id = k.anonymous_id",
    )?;
    let mut links: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut found = stmt.query(params![&keys])?;
    while let Some(row) = found.next()? {
        links
            .entry(row.get(0)?)
            .or_default()
            .insert(row.get(1)?, row.get(2)?);
    }
    Ok(links)
}

/// Folds the load's view state into the stored state of the same views, writes the views back, and
/// adds them to `changes`.
fn store_views(
    tx: &Transaction<'_>,
    mut views: Vec<ViewMap>,
    tenants: &[String],
    changes: &mut ViewChanges,
) -> Result<(), StoreError> {
    if views.iter().all(ViewMap::is_empty) {
        return Ok(());
    }
    let keys: Vec<(&str, &str)> = views
        .iter()
        .enumerate()
        .flat_map(|(t, timelines)| {
            timelines
                .keys()
                .map(move |v| (tenants[t].as_str(), v.as_str()))
        })
        .collect();
    let touched = scan(vec![
        ("tenant_id", strings(keys.iter().map(|k| Some(k.0)))),
        ("view_id", strings(keys.iter().map(|k| Some(k.1)))),
    ])?;
    drop(keys);
    let tenant_index: HashMap<&str, usize> = tenants
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let clock = std::time::Instant::now();
    let mut stored = read_stored_segments(tx, &tenant_index, &touched)?;
    let read_stored_s = clock.elapsed().as_secs_f64();
    let stored_views = stored.len();
    if !stored.is_empty() {
        read_stored_ranges(tx, &tenant_index, &touched, &mut stored)?;
        tx.execute(
            "DELETE FROM view_segments WHERE (tenant_id, view_id) IN (SELECT tenant_id, view_id FROM staged(?))",
            params![&touched],
        )?;
        tx.execute(
            "DELETE FROM view_ranges WHERE (tenant_id, view_id) IN (SELECT tenant_id, view_id FROM staged(?))",
            params![&touched],
        )?;
        for ((t, view_id), segments) in stored {
            let mut timeline = Timeline {
                segments: segments.into_iter().map(|(_, s)| s).collect(),
            };
            if let Some(new) = views[t].remove(&view_id) {
                timeline.merge(new);
            }
            views[t].insert(view_id, timeline);
        }
    }
    let merged_s = clock.elapsed().as_secs_f64();
    drop(touched);
    let rows: Vec<(&str, &str, SegmentRow<'_>)> = views
        .iter()
        .enumerate()
        .flat_map(|(t, timelines)| {
            timelines.iter().flat_map(move |(view_id, timeline)| {
                timeline
                    .rows()
                    .map(move |row| (tenants[t].as_str(), view_id.as_str(), row))
            })
        })
        .collect();
    let links = linked_users(tx, &rows)?;
    let viewers: Vec<Option<&str>> = rows
        .iter()
        .map(|(t, _, row)| {
            let anonymous = row.state.dims.get(Dim::AnonymousId);
            row.state.user_id.as_deref().or_else(|| {
                anonymous
                    .and_then(|a| links.get(*t)?.get(a))
                    .map(String::as_str)
                    .or(anonymous)
            })
        })
        .collect();
    record_changes(&rows, &viewers, changes);
    let segments = scan(segment_columns(&rows, &viewers))?;
    let ranges: Vec<(&str, &str, SegmentRow<'_>, (f64, f64))> = rows
        .iter()
        .flat_map(|&(t, v, row)| row.state.ranges.iter().map(move |&r| (t, v, row, r)))
        .collect();
    let ranges = scan({
        let ranges = &ranges[..];
        vec![
            (
                "tenant_id",
                strings(ranges.iter().map(|(t, _, _, _)| Some(*t))),
            ),
            (
                "view_id",
                strings(ranges.iter().map(|(_, v, _, _)| Some(*v))),
            ),
            (
                "segment",
                Arc::new(Int32Array::from_iter_values(
                    ranges.iter().map(|(_, _, row, _)| row.segment),
                )) as ArrayRef,
            ),
            (
                "content_id",
                strings(
                    ranges
                        .iter()
                        .map(|(_, _, row, _)| row.state.dims.get(Dim::ContentId)),
                ),
            ),
            (
                "started_ms",
                ints(
                    ranges
                        .iter()
                        .map(|(_, _, row, _)| Some(row.state.started_ms)),
                ),
            ),
            (
                "from_s",
                floats(ranges.iter().map(|(_, _, _, r)| Some(r.0))),
            ),
            ("to_s", floats(ranges.iter().map(|(_, _, _, r)| Some(r.1)))),
        ]
    })?;
    tx.execute(
        "INSERT INTO view_ranges SELECT * FROM staged(?)",
        params![&ranges],
    )?;
    let appended_s = clock.elapsed().as_secs_f64();
    tx.execute(
        "INSERT INTO view_segments BY NAME SELECT * FROM staged(?)",
        params![&segments],
    )?;
    tracing::debug!(
        stored_views,
        read_stored_s,
        merged_s,
        appended_s,
        inserted_s = clock.elapsed().as_secs_f64(),
        "view timings"
    );
    Ok(())
}

/// Adds the written views to `changes`: each view id of `rows` (a tenant's rows together, a view
/// id's segments together) is replaced by its counted segments.
fn record_changes(
    rows: &[(&str, &str, SegmentRow<'_>)],
    viewers: &[Option<&str>],
    changes: &mut ViewChanges,
) {
    let mut at = 0;
    for of_tenant in rows.chunk_by(|a, b| a.0 == b.0) {
        let viewers_of_tenant = &viewers[at..at + of_tenant.len()];
        at += of_tenant.len();
        let counted = of_tenant.iter().filter(|(_, _, r)| r.counted).count();
        let Some(recorded) = changes.tenant_with_room(of_tenant[0].0, counted) else {
            continue;
        };
        let mut view_at = 0;
        for of_view in of_tenant.chunk_by(|a, b| a.1 == b.1) {
            let view_id = of_view[0].1;
            let segments = of_view
                .iter()
                .zip(&viewers_of_tenant[view_at..])
                .filter(|((_, _, row), _)| row.counted)
                .map(|((_, _, row), viewer)| OwnedView::of(&view_record(view_id, row, *viewer)))
                .collect();
            view_at += of_view.len();
            recorded.replace(view_id, segments);
        }
    }
}

type StoredSegments = HashMap<(usize, String), Vec<(i32, Segment)>>;

/// The stored segments of the touched views, in segment order.
fn read_stored_segments(
    tx: &Transaction<'_>,
    tenant_index: &HashMap<&str, usize>,
    touched: &StagedBatch,
) -> Result<StoredSegments, StoreError> {
    let columns: Vec<&str> = ["tenant_id", "view_id", "segment"]
        .into_iter()
        .chain(STATE_COLUMNS.iter().copied())
        .chain(Dim::ALL.iter().map(|d| d.column()))
        .collect();
    let mut stmt = tx.prepare(&format!(
        "SELECT {} FROM view_segments
         SEMI JOIN staged(?) t ON view_segments.tenant_id = t.tenant_id AND view_segments.view_id = t.view_id",
        columns.join(", ")
    ))?;
    let dims_at = 3 + STATE_COLUMNS.len();
    let mut rows = stmt.query(params![touched])?;
    let mut stored: StoredSegments = HashMap::new();
    while let Some(row) = rows.next()? {
        let tenant: String = row.get(0)?;
        let Some(&t) = tenant_index.get(tenant.as_str()) else {
            continue;
        };
        let mut segment = Segment::default();
        read_state(row, 3, &mut segment)?;
        for (i, value) in segment.dims.0.iter_mut().enumerate() {
            *value = row.get(dims_at + i)?;
        }
        stored
            .entry((t, row.get(1)?))
            .or_default()
            .push((row.get(2)?, segment));
    }
    for segments in stored.values_mut() {
        segments.sort_by_key(|(n, _)| *n);
    }
    Ok(stored)
}

/// Adds the stored played ranges of the touched views to their segments.
fn read_stored_ranges(
    tx: &Transaction<'_>,
    tenant_index: &HashMap<&str, usize>,
    touched: &StagedBatch,
    stored: &mut StoredSegments,
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare(
        "SELECT r.tenant_id, r.view_id, r.segment, r.from_s, r.to_s FROM view_ranges r
         SEMI JOIN staged(?) t ON r.tenant_id = t.tenant_id AND r.view_id = t.view_id
         ORDER BY r.from_s",
    )?;
    let mut rows = stmt.query(params![touched])?;
    while let Some(row) = rows.next()? {
        let tenant: String = row.get(0)?;
        let view_id: String = row.get(1)?;
        let segment: i32 = row.get(2)?;
        let Some(&t) = tenant_index.get(tenant.as_str()) else {
            continue;
        };
        if let Some(segments) = stored.get_mut(&(t, view_id)) {
            if let Some((_, s)) = segments.iter_mut().find(|(n, _)| *n == segment) {
                s.ranges.push((row.get(3)?, row.get(4)?));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold::seen::SeenIds;
    use std::io::Write;

    /// The record of object `key` (its tenant is not part of what these tests check).
    fn record(key: &str) -> ObjectRecord<'_> {
        ObjectRecord {
            key,
            tenant_id: None,
            uploaded_ms: 1,
            loaded_at_ms: 1,
        }
    }

    fn object_of(lines: std::ops::Range<u64>) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for i in lines {
            writeln!(
                gz,
                r#"{{"tenant_id":"t{}","eid":"e{i}","type":"heartbeat","ts":{},"view_id":"v{}","watched_ms":1000}}"#,
                i % 3,
                1_790_000_000_000 + i,
                i / 20
            )
            .expect("write");
        }
        gz.finish().expect("gzip")
    }

    /// Every column of `view_segments` and `view_ranges`, as text, in a fixed order.
    fn stored_views(store: &Store) -> Vec<String> {
        let mut out = Vec::new();
        for sql in [
            "SELECT * FROM view_segments ORDER BY tenant_id, view_id, segment",
            "SELECT * FROM view_ranges ORDER BY tenant_id, view_id, segment, from_s",
        ] {
            let mut stmt = store.conn.prepare(sql).expect("prepare");
            let mut rows = stmt.query([]).expect("query");
            while let Some(row) = rows.next().expect("row") {
                let n = row.as_ref().column_count();
                let cells: Vec<String> = (0..n)
                    .map(|i| format!("{:?}", row.get_ref(i).expect("cell").to_owned()))
                    .collect();
                out.push(cells.join(" | "));
            }
        }
        out
    }

    /// An index that follows each load's changes holds exactly what an index read from the store
    /// afterwards holds: lake-gen's views (continuations after idle gaps, identify calls that claim
    /// earlier views, bots, seeks) loaded three objects at a time, some objects twice.
    #[test]
    fn an_index_following_each_load_equals_one_read_from_the_store() {
        use crate::query::ViewIndex;
        let dir = tempfile::tempdir().expect("dir");
        let config = lake_gen::Config {
            seed: 7,
            tenants: vec!["acme".into(), "globex".into()],
            events: 12_000,
            days: 2,
            now_ms: 1_790_000_000_000,
            contents: 6,
            viewers: 40,
            object_events: 400,
            keep_truth: false,
            store_user_agent: vec![],
        };
        lake_gen::generate(&config, dir.path()).expect("lake");
        // In key order: the identify calls come at the end of each tenant's part of the lake, in
        // loads after the views they claim; views span objects, so they reach the store in parts.
        let lake = crate::source::DirLake::new(dir.path());
        let objects = lake.list_after("").expect("list");
        assert!(objects.len() >= 20, "{} objects", objects.len());
        let blobs: Vec<Vec<u8>> = objects
            .iter()
            .map(|o| lake.read(&o.key).expect("read"))
            .collect();
        let mut store = Store::open_in_memory().expect("store");
        store.follow_views();
        let mut index = ViewIndex::default();
        let mut followed = 0;
        let order: Vec<usize> = (0..objects.len()).collect();
        for (n, chunk) in order.chunks(3).enumerate() {
            // Every fourth load repeats the previous chunk's first object under a new key.
            let mut chunk: Vec<usize> = chunk.to_vec();
            if n % 4 == 3 {
                chunk.push((n - 1) * 3);
            }
            let names: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(j, &i)| {
                    if j < 3 {
                        objects[i].key.clone()
                    } else {
                        format!("repeat-{n}")
                    }
                })
                .collect();
            let records: Vec<ObjectRecord<'_>> = names.iter().map(|k| record(k)).collect();
            let refs: Vec<&[u8]> = chunk.iter().map(|&i| blobs[i].as_slice()).collect();
            store.load_objects(&records, &refs).expect("load");
            // Changes of two loads in a row come together (as a pull's chunks do) every third load.
            if n % 3 == 0 {
                continue;
            }
            let (reread, changes) = store.take_view_changes().split();
            assert!(reread.is_empty(), "{reread:?}");
            followed += changes.values().map(|c| c.views()).sum::<usize>();
            index = index.updated(&[], HashMap::new(), changes);
            let read = ViewIndex::new(store.read_views(None).expect("read"));
            assert_eq!(index.tenant_names(), read.tenant_names(), "after load {n}");
            for tenant in read.tenant_names() {
                let (mine, theirs) = (index.tenant(&tenant), read.tenant(&tenant));
                let (mine, theirs) = (mine.expect("tenant"), theirs.expect("tenant"));
                assert_eq!(
                    mine.described(),
                    theirs.described(),
                    "{tenant} after load {n}"
                );
            }
        }
        let read = ViewIndex::new(store.read_views(None).expect("read"));
        assert!(read.view_count() > 200, "{} views", read.view_count());
        assert!(followed > read.view_count(), "{followed} views followed");
        // Some stored views were claimed by identify calls of later loads.
        let linked: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM views WHERE user_id IS NULL AND viewer_id <> anonymous_id",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert!(linked > 0, "no view was claimed by a later identify");
    }

    /// A view whose events arrive over several loads is stored exactly as if they had come in one:
    /// every state column, dimension and range is read back from the store and folded again.
    #[test]
    fn a_view_loaded_in_parts_is_stored_as_the_view_loaded_at_once() {
        let lines = [
            r#"{"tenant_id":"t","eid":"a","type":"view_start","ts":1790000000000,"received_at":1790000000100,"anonymous_id":"anon","session_id":"s1","view_id":"v","content_id":"film","content_type":"vod","page_url":"https://tv.example/watch?x=1","browser":"Firefox","os":"Ubuntu","device_type":"desktop","device_brand":"Acme","continent":"EU","country":"DE","subdivision":"BE","timezone":"Europe/Berlin","props":{"plan":"pro"}}"#,
            r#"{"tenant_id":"t","eid":"b","type":"first_frame","ts":1790000000700,"view_id":"v","ttff_ms":700,"country":"FR"}"#,
            r#"{"tenant_id":"t","eid":"c","type":"rebuffer_start","ts":1790000005000,"view_id":"v","user_id":"u1"}"#,
            r#"{"tenant_id":"t","eid":"d","type":"heartbeat","ts":1790000010000,"view_id":"v","watched_ms":9000,"rebuffer_ms":300,"position_s":9.5,"duration_s":600.0,"played":[[0.0,9.5]]}"#,
            r#"{"tenant_id":"t","eid":"e","type":"error","ts":1790000011000,"view_id":"v","fatal":true}"#,
            r#"{"tenant_id":"t","eid":"f","type":"heartbeat","ts":1790003000000,"view_id":"v","watched_ms":1000,"played":[[20.0,21.0]]}"#,
            r#"{"tenant_id":"t","eid":"g","type":"ended","ts":1790003001000,"view_id":"v"}"#,
        ];
        let gz = |lines: &[&str]| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            for line in lines {
                writeln!(gz, "{line}").expect("write");
            }
            gz.finish().expect("gzip")
        };
        let mut whole = Store::open_in_memory().expect("store");
        whole
            .load_objects(&[record("all")], &[&gz(&lines)])
            .expect("load");
        let mut parts = Store::open_in_memory().expect("store");
        // Out of order, one or two events a load: each load reads the view back and folds into it.
        for (i, part) in [
            &lines[3..4],
            &lines[1..3],
            &lines[6..7],
            &lines[0..1],
            &lines[4..6],
        ]
        .into_iter()
        .enumerate()
        {
            let key = format!("part{i}");
            parts
                .load_objects(&[record(&key)], &[&gz(part)])
                .expect("load");
        }
        let expected = stored_views(&whole);
        assert_eq!(
            expected.len(),
            2 + 2,
            "two segments (an idle gap), two ranges: {expected:#?}"
        );
        assert!(expected[0].contains("\"Acme\"") && expected[0].contains("\"DE\""));
        assert_eq!(stored_views(&parts), expected);
    }

    /// Events stored by an earlier load are found however many there are (the check reads the
    /// load's ids as an Arrow batch of many vectors).
    #[test]
    fn stored_events_are_skipped_in_large_loads() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&dir.path().join("dups.duckdb")).expect("store");
        let first = store
            .load_objects(&[record("a")], &[&object_of(0..50_000)])
            .expect("load");
        assert_eq!(first[0].inserted, 50_000);
        let second = store
            .load_objects(
                &[record("b"), record("c")],
                &[&object_of(20_000..70_000), &object_of(60_000..90_000)],
            )
            .expect("load");
        let inserted: u64 = second.iter().map(|o| o.inserted).sum();
        let duplicates: u64 = second.iter().map(|o| o.duplicates).sum();
        assert_eq!((inserted, duplicates), (40_000, 40_000));
        let stored: i64 = store
            .conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .expect("count");
        assert_eq!(stored, 90_000);
    }

    /// A pull's second chunk repeats events of its first chunk and one stored before the pull: the
    /// stored one sends it down the slow path, whose decode does not know the first chunk, and the
    /// copies must still be skipped (the crash-safety test found this).
    #[test]
    fn a_pull_checks_earlier_pulls_in_the_database_and_its_own_chunks_in_memory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&dir.path().join("pulls.duckdb")).expect("store");
        let counts = |outcome: Vec<LoadOutcome>| (outcome[0].inserted, outcome[0].duplicates);
        let first_pull = store.next_pull().expect("pull");
        let seen = SeenIds::for_pull(first_pull, 0);
        let a = object_of(0..1000);
        let chunk = fold_chunk(&[&a], Some(&seen));
        let outcome = store.load_folded(&[record("a")], &[&a], chunk);
        assert_eq!(counts(outcome.expect("load a")), (1000, 0));

        // The next pull: half of b was stored by the first pull, half of c is in b.
        let pull = store.next_pull().expect("pull");
        assert!(pull > first_pull);
        let seen = SeenIds::for_pull(pull, 0);
        let (b, c) = (object_of(500..1500), object_of(1000..2000));
        let chunk_b = fold_chunk(&[&b], Some(&seen));
        let chunk_c = fold_chunk(&[&c], Some(&seen));
        let outcome = store.load_folded(&[record("b")], &[&b], chunk_b);
        assert_eq!(counts(outcome.expect("load b")), (500, 500));
        let outcome = store.load_folded(&[record("c")], &[&c], chunk_c);
        assert_eq!(counts(outcome.expect("load c")), (500, 500));

        // A set that forgot some of its pull's events (past its bound) cannot vouch for the pull's
        // earlier chunks: the database check then covers them too.
        let forgetful = SeenIds::for_pull(pull, 0);
        forgetful.forget_some();
        let d = object_of(1900..2100);
        let chunk_d = fold_chunk(&[&d], Some(&forgetful));
        let outcome = store.load_folded(&[record("d")], &[&d], chunk_d);
        assert_eq!(counts(outcome.expect("load d")), (100, 100));

        let (events, distinct): (i64, i64) = store
            .conn
            .query_row(
                "SELECT count(*), count(DISTINCT (key_hi, key_lo)) FROM events",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("count");
        assert_eq!((events, distinct), (2100, 2100));
        let watched: i64 = store
            .conn
            .query_row("SELECT sum(watched_ms) FROM view_segments", [], |r| {
                r.get(0)
            })
            .expect("sum");
        assert_eq!(
            watched,
            2100 * 1000,
            "every event counted once in the views"
        );
    }

    #[test]
    fn copies_of_a_pulls_earlier_chunk_stay_out_of_the_slow_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&dir.path().join("slow.duckdb")).expect("store");
        store
            .load_objects(&[record("before")], &[&object_of(0..1)])
            .expect("load");
        let seen = SeenIds::new(0);
        let (a, b) = (object_of(1..100), object_of(0..150));
        let first = fold_chunk(&[&a], Some(&seen));
        let second = fold_chunk(&[&b], Some(&seen));
        store
            .load_folded(&[record("a")], &[&a], first)
            .expect("load a");
        let outcome = store
            .load_folded(&[record("b")], &[&b], second)
            .expect("load b");
        assert_eq!((outcome[0].inserted, outcome[0].duplicates), (50, 100));
        let stored: i64 = store
            .conn
            .query_row(
                "SELECT count(DISTINCT (key_hi, key_lo)) = count(*) FROM events",
                [],
                |r| r.get::<_, bool>(0).map(i64::from),
            )
            .expect("count");
        assert_eq!(stored, 1, "no event stored twice");
    }

    /// 300k events in one load into a database file: every one is stored (staging them in a temp
    /// table lost them all once a load passed ~2.5 row groups).
    #[test]
    fn large_loads_store_every_event() {
        let blob = object_of(0..300_000);
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&dir.path().join("large.duckdb")).expect("store");
        let outcome = store
            .load_objects(&[record("events/v1/big.ndjson.gz")], &[&blob])
            .expect("load");
        assert_eq!(outcome[0].inserted, 300_000);
        let stored: i64 = store
            .conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .expect("count");
        assert_eq!(stored, 300_000);
        let segments: i64 = store
            .conn
            .query_row("SELECT count(*) FROM view_segments", [], |r| r.get(0))
            .expect("count");
        assert_eq!(segments, 45_000, "15k view ids in each of 3 tenants");
    }
}
