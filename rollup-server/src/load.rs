//! Loading batch objects: decode (Rust, several threads), keep each event once, follow identify
//! links, fold the events into the stored state of the views they touch, and record the objects, all
//! in one transaction, so a crash at any point leaves either nothing or everything.

use crate::decode::{decode_objects, DecodeError, DecodedLoad, ViewMap};
use crate::store::{LoadOutcome, ObjectRecord, Store, StoreError};
use crate::view_state::{browser_engine, source_of, Segment, SegmentDims, Timeline};
use duckdb::{params, Transaction};
use std::collections::{HashMap, HashSet};

/// Decoding threads of a load.
fn decode_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(4))
}

/// The state columns of `view_segments` (without `viewer_id` and `viewer_key`, which follow
/// identify links and are set in SQL), in table order.
const SEGMENT_COLUMNS: &str = "tenant_id, view_id, segment, started_ms, last_ms, last_received_ms,
    first_eid, counted, has_view_start, has_first_frame, content_id, content_type, session_id,
    anonymous_id, user_id, ttff_ms, watched_ms, rebuffer_ms, rebuffer_count, fatal_error,
    reached_first_frame, ended, furthest_position_s, duration_s, page_url, source, browser,
    browser_engine, os, device_type, device, continent, country, subdivision, timezone, props";

impl From<DecodeError> for StoreError {
    fn from(e: DecodeError) -> StoreError {
        StoreError::Decode(e.to_string())
    }
}

/// Decodes a chunk of objects (`blobs[i]` holds `objects[i]`), ahead of [`Store::load_decoded`]: the
/// slow part of a load, which needs no database, so a pull decodes the next chunk while the store
/// takes this one.
pub fn decode_chunk(blobs: &[&[u8]]) -> Result<DecodedChunk, DecodeError> {
    let clock = std::time::Instant::now();
    let load = decode_objects(blobs, &HashSet::new(), decode_threads())?;
    Ok(DecodedChunk {
        load,
        decode_s: clock.elapsed().as_secs_f64(),
    })
}

/// A decoded chunk of objects, with how long decoding took.
pub struct DecodedChunk {
    load: DecodedLoad,
    decode_s: f64,
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
        let decoded = decode_chunk(blobs)?;
        self.load_decoded(objects, blobs, decoded)
    }

    /// [`Store::load_objects`] with the chunk decoded already (by [`decode_chunk`] of `blobs`).
    pub fn load_decoded(
        &mut self,
        objects: &[ObjectRecord<'_>],
        blobs: &[&[u8]],
        decoded: DecodedChunk,
    ) -> Result<Vec<LoadOutcome>, StoreError> {
        let tx = self.conn.transaction()?;
        let mut outcomes = vec![LoadOutcome::default(); objects.len()];
        let mut fresh = Vec::new();
        {
            let mut seen = tx.prepare("SELECT 1 FROM loaded_objects WHERE object_key = ?")?;
            let mut keys = HashSet::new();
            for (i, object) in objects.iter().enumerate() {
                if keys.insert(object.key) && !seen.exists(params![object.key])? {
                    fresh.push(i);
                }
            }
        }
        if fresh.is_empty() {
            return Ok(outcomes);
        }
        let fresh_blobs: Vec<&[u8]> = fresh.iter().map(|&i| blobs[i]).collect();
        let clock = std::time::Instant::now();
        let mut load = if fresh.len() == objects.len() {
            decoded.load
        } else {
            // Some objects were loaded meanwhile (another pull): decode only the others.
            decode_objects(&fresh_blobs, &HashSet::new(), decode_threads())?
        };
        let decoded_s = clock.elapsed().as_secs_f64();
        self.timings.read_s += decoded.decode_s;

        // Exactly once: events stored before are found by one semi-join of this load's ids.
        stage_ids(&tx, &load)?;
        let staged_s = clock.elapsed().as_secs_f64();
        let stored = stored_duplicates(&tx)?;
        let probed_s = clock.elapsed().as_secs_f64();
        if !stored.is_empty() {
            // Rare (a retry or re-flush of events loaded before): decode again leaving them out.
            load = decode_objects(&fresh_blobs, &stored, decode_threads())?;
            stage_ids(&tx, &load)?;
        }
        tx.execute_batch(
            "INSERT INTO events SELECT * FROM incoming_ids; DROP TABLE incoming_ids;",
        )?;
        let inserted_s = clock.elapsed().as_secs_f64();
        store_identities(&tx, &load)?;
        let stored_s = clock.elapsed().as_secs_f64();

        store_views(&tx, load.views, &load.tenants)?;
        let views_s = clock.elapsed().as_secs_f64();

        let rejected: u64 = load.per_object.iter().map(|c| c.rejected).sum();
        if rejected > 0 {
            tracing::warn!(lines = rejected, "skipped lines that are not events");
        }
        {
            let mut record = tx.prepare(
                "INSERT INTO loaded_objects (object_key, tenant_id, uploaded_ms, loaded_at_ms, events, duplicates)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )?;
            for (n, &i) in fresh.iter().enumerate() {
                let object = &objects[i];
                let counts = load.per_object[n];
                record.execute(params![
                    object.key,
                    object.tenant_id,
                    object.uploaded_ms,
                    object.loaded_at_ms,
                    counts.inserted as i64,
                    counts.duplicates as i64
                ])?;
                outcomes[i] = LoadOutcome {
                    inserted: counts.inserted,
                    duplicates: counts.duplicates,
                    newly_loaded: true,
                };
            }
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

/// Writes the load's event ids to the temp table `incoming_ids` (the shape of `events`).
fn stage_ids(tx: &Transaction<'_>, load: &DecodedLoad) -> Result<(), StoreError> {
    tx.execute_batch("CREATE OR REPLACE TEMP TABLE incoming_ids AS SELECT * FROM events LIMIT 0")?;
    let mut app = tx.appender_to_catalog_and_db("incoming_ids", "temp", "main")?;
    for id in &load.ids {
        app.append_row(params![load.tenants[id.tenant as usize], id.hash, id.ts])?;
    }
    app.flush()?;
    Ok(())
}

/// Ids of `incoming_ids` stored before.
fn stored_duplicates(tx: &Transaction<'_>) -> Result<HashSet<(String, i128)>, StoreError> {
    let mut stmt = tx.prepare(
        "SELECT e.tenant_id, e.eid_hash FROM events e SEMI JOIN incoming_ids i
         ON e.tenant_id = i.tenant_id AND e.eid_hash = i.eid_hash",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i128>(1)?))
    })?;
    Ok(rows.collect::<Result<HashSet<_>, _>>()?)
}

/// identify links: the latest per anonymous id wins; stored views of that anonymous id follow.
fn store_identities(tx: &Transaction<'_>, load: &DecodedLoad) -> Result<(), StoreError> {
    if load.identifies.is_empty() {
        return Ok(());
    }
    tx.execute_batch(
        "CREATE OR REPLACE TEMP TABLE new_identities AS SELECT * FROM identities LIMIT 0",
    )?;
    {
        let mut app = tx.appender_to_catalog_and_db("new_identities", "temp", "main")?;
        for i in &load.identifies {
            app.append_row(params![
                load.tenants[i.tenant as usize],
                i.anonymous_id,
                i.user_id,
                i.ts
            ])?;
        }
        app.flush()?;
    }
    tx.execute_batch(
        "INSERT INTO identities
         SELECT tenant_id, anonymous_id, arg_max(user_id, ts), max(ts) FROM new_identities
         GROUP BY tenant_id, anonymous_id
         ON CONFLICT (tenant_id, anonymous_id) DO UPDATE SET
             user_id = CASE WHEN excluded.ts >= identities.ts THEN excluded.user_id ELSE identities.user_id END,
             ts = greatest(excluded.ts, identities.ts);
         UPDATE view_segments SET viewer_id = coalesce(view_segments.user_id, i.user_id, view_segments.anonymous_id),
                                  viewer_key = hash(coalesce(view_segments.user_id, i.user_id, view_segments.anonymous_id))
         FROM identities i
         WHERE view_segments.tenant_id = i.tenant_id AND view_segments.anonymous_id = i.anonymous_id
           AND (i.tenant_id, i.anonymous_id) IN (SELECT tenant_id, anonymous_id FROM new_identities);
         DROP TABLE new_identities;",
    )?;
    Ok(())
}

/// Folds the load's view state into the stored state of the same views, then writes the views back.
fn store_views(
    tx: &Transaction<'_>,
    mut views: Vec<ViewMap>,
    tenants: &[String],
) -> Result<(), StoreError> {
    if views.iter().all(ViewMap::is_empty) {
        return Ok(());
    }
    tx.execute_batch(
        "CREATE OR REPLACE TEMP TABLE touched_views (tenant_id VARCHAR NOT NULL, view_id VARCHAR NOT NULL)",
    )?;
    {
        let mut app = tx.appender_to_catalog_and_db("touched_views", "temp", "main")?;
        for (t, timelines) in views.iter().enumerate() {
            for view_id in timelines.keys() {
                app.append_row(params![tenants[t], view_id])?;
            }
        }
        app.flush()?;
    }
    let tenant_index: HashMap<&str, usize> = tenants
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let mut stored = read_stored_segments(tx, &tenant_index)?;
    if !stored.is_empty() {
        read_stored_ranges(tx, &tenant_index, &mut stored)?;
        tx.execute_batch(
            "DELETE FROM view_segments WHERE (tenant_id, view_id) IN (SELECT tenant_id, view_id FROM touched_views);
             DELETE FROM view_ranges WHERE (tenant_id, view_id) IN (SELECT tenant_id, view_id FROM touched_views);",
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
    tx.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE new_segments AS SELECT {SEGMENT_COLUMNS} FROM view_segments LIMIT 0"
    ))?;
    {
        let mut segments = tx.appender_to_catalog_and_db("new_segments", "temp", "main")?;
        let mut ranges = tx.appender("view_ranges")?;
        for (t, timelines) in views.iter().enumerate() {
            let tenant = &tenants[t];
            for (view_id, timeline) in timelines {
                for row in timeline.rows() {
                    let s = row.state;
                    let d = &s.dims;
                    segments.append_row(params![
                        tenant,
                        view_id,
                        row.segment,
                        s.started_ms,
                        s.last_ms,
                        s.last_received_ms,
                        s.first_eid,
                        row.counted,
                        s.has_view_start,
                        s.has_first_frame,
                        d.content_id,
                        d.content_type,
                        d.session_id,
                        d.anonymous_id,
                        s.user_id,
                        s.ttff_ms,
                        s.watched_ms,
                        s.rebuffer_ms,
                        s.rebuffer_count,
                        s.fatal_error,
                        row.reached_first_frame,
                        s.ended,
                        s.furthest_position_s,
                        s.duration_s,
                        d.page_url,
                        d.page_url
                            .as_deref()
                            .map(|url| source_of(url).unwrap_or("")),
                        d.browser,
                        browser_engine(d.browser.as_deref(), d.os.as_deref()),
                        d.os,
                        d.device_type,
                        d.device,
                        d.continent,
                        d.country,
                        d.subdivision,
                        d.timezone,
                        d.props
                    ])?;
                    for &(from_s, to_s) in &s.ranges {
                        ranges.append_row(params![
                            tenant,
                            view_id,
                            row.segment,
                            d.content_id,
                            s.started_ms,
                            from_s,
                            to_s
                        ])?;
                    }
                }
            }
        }
        segments.flush()?;
        ranges.flush()?;
    }
    tx.execute_batch(
        "INSERT INTO view_segments BY NAME
         SELECT s.*, coalesce(s.user_id, i.user_id, s.anonymous_id) AS viewer_id,
                hash(coalesce(s.user_id, i.user_id, s.anonymous_id)) AS viewer_key
         FROM new_segments s
         LEFT JOIN identities i ON i.tenant_id = s.tenant_id AND i.anonymous_id = s.anonymous_id;
         DROP TABLE new_segments; DROP TABLE touched_views;",
    )?;
    Ok(())
}

type StoredSegments = HashMap<(usize, String), Vec<(i32, Segment)>>;

/// The stored segments of the touched views, in segment order.
fn read_stored_segments(
    tx: &Transaction<'_>,
    tenant_index: &HashMap<&str, usize>,
) -> Result<StoredSegments, StoreError> {
    let mut stmt = tx.prepare(&format!(
        "SELECT {SEGMENT_COLUMNS} FROM view_segments
         SEMI JOIN touched_views t ON view_segments.tenant_id = t.tenant_id AND view_segments.view_id = t.view_id"
    ))?;
    let mut rows = stmt.query([])?;
    let mut stored: StoredSegments = HashMap::new();
    while let Some(row) = rows.next()? {
        let tenant: String = row.get(0)?;
        let Some(&t) = tenant_index.get(tenant.as_str()) else {
            continue;
        };
        let segment = Segment {
            started_ms: row.get(3)?,
            last_ms: row.get(4)?,
            last_received_ms: row.get(5)?,
            first_eid: row.get(6)?,
            has_view_start: row.get(8)?,
            has_first_frame: row.get(9)?,
            dims: SegmentDims {
                content_id: row.get(10)?,
                content_type: row.get(11)?,
                session_id: row.get(12)?,
                anonymous_id: row.get(13)?,
                page_url: row.get(24)?,
                browser: row.get(26)?,
                os: row.get(28)?,
                device_type: row.get(29)?,
                device: row.get(30)?,
                continent: row.get(31)?,
                country: row.get(32)?,
                subdivision: row.get(33)?,
                timezone: row.get(34)?,
                props: row.get(35)?,
            },
            user_id: row.get(14)?,
            ttff_ms: row.get(15)?,
            watched_ms: row.get(16)?,
            rebuffer_ms: row.get(17)?,
            rebuffer_count: row.get(18)?,
            fatal_error: row.get(19)?,
            ended: row.get(21)?,
            furthest_position_s: row.get(22)?,
            duration_s: row.get(23)?,
            ranges: Vec::new(),
        };
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
    stored: &mut StoredSegments,
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare(
        "SELECT r.tenant_id, r.view_id, r.segment, r.from_s, r.to_s FROM view_ranges r
         SEMI JOIN touched_views t ON r.tenant_id = t.tenant_id AND r.view_id = t.view_id
         ORDER BY r.from_s",
    )?;
    let mut rows = stmt.query([])?;
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
