//! Folding: a chunk of lake objects becomes what a load stores. Each event is kept once
//! ([`seen`]), identify links are collected, and events fold into the mergeable state of the views
//! they touch ([`view`]). No database here.
//!
//! Objects fold on several threads at once, each into its own state; the states merge at the end
//! (view state merges in any order). Lines that are not events are quarantined and counted.

use crate::decode::gunzip_into;
use crate::decode::line::{LakeEvent, LineParser, Ranges};
use seen::{eid_hash, tenant_hash, SeenIds};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use view::{Timeline, ViewEvent, ViewEventKind};

pub mod seen;
pub mod view;

/// View id -> the state a load's events add up to.
pub type ViewMap = HashMap<String, Timeline, rustc_hash::FxBuildHasher>;

/// An event to store: its tenant (index into [`FoldedLoad::tenants`]), key ([`event_key`]), and
/// client time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventId {
    pub tenant: u32,
    pub key: i128,
    pub ts: i64,
}

/// An identify link seen in a load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identify {
    pub tenant: u32,
    pub anonymous_id: String,
    pub user_id: String,
    pub ts: i64,
}

/// Lines of one object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectCounts {
    /// Events kept (new in this load).
    pub inserted: u64,
    /// Events skipped as already seen (in this load or stored before).
    pub duplicates: u64,
    /// Lines that are not events, and events with a value that cannot happen (quarantined).
    pub rejected: u64,
}

/// An object or line left out of a load, and why. The store records it (`quarantine`, migration
/// 009) with the object's key, `/metrics` counts it and `GET /admin/quarantine` lists it to the
/// tenant's admins; the rest of the load goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// The object's index in the load.
    pub object: usize,
    /// The line's number in the object (from 1), or `None` for the whole object.
    pub line: Option<u64>,
    /// The event's id, when the line was an event.
    pub eid: Option<String>,
    /// What was wrong, for a person to read.
    pub reason: String,
}

/// Lines of one object recorded one by one in the quarantine; past that they are only counted (in
/// the object's `rejected`), so a hostile object cannot grow the record without bound.
pub const QUARANTINED_LINES_PER_OBJECT: usize = 20;

/// Parsed lines waiting for their ids to be checked: the events, each one's tenant index, the events'
/// keys offered to [`SeenIds`], and its answers.
struct Batch<'t> {
    events: Vec<LakeEvent<'t>>,
    tenants: Vec<u32>,
    keys: Vec<i128>,
    firsts: Vec<bool>,
}

/// Everything decoded from a set of objects.
#[derive(Debug, Default)]
pub struct FoldedLoad {
    pub tenants: Vec<String>,
    pub ids: Vec<EventId>,
    pub per_object: Vec<ObjectCounts>,
    /// Per tenant index: view id -> the state its new events add up to.
    pub views: Vec<ViewMap>,
    pub identifies: Vec<Identify>,
    /// Objects and lines left out (see [`Quarantined`]), in no particular order.
    pub quarantine: Vec<Quarantined>,
}

impl FoldedLoad {
    fn tenant_index(&mut self, tenant: &str) -> u32 {
        match self.tenants.iter().position(|t| t == tenant) {
            Some(i) => i as u32,
            None => {
                self.tenants.push(tenant.to_owned());
                self.views.push(ViewMap::default());
                (self.tenants.len() - 1) as u32
            }
        }
    }

    /// Events kept in this load.
    pub fn events(&self) -> usize {
        self.ids.len()
    }

    /// Folds one decompressed object in.
    fn fold_object(&mut self, index: usize, text: &[u8], seen: &SeenIds, exclude: &HashSet<i128>) {
        /// Lines parsed before their ids are checked together (see [`SeenIds::first_of`]).
        const BATCH: usize = 256;
        let mut counts = ObjectCounts::default();
        // About one event per 400 bytes: grow once per object, not per event.
        self.ids.reserve(text.len() / 400);
        let mut last_tenant = (String::new(), 0u32, 0i128);
        let mut parser = LineParser::default();
        let mut batch = Batch {
            events: Vec::with_capacity(BATCH),
            tenants: Vec::with_capacity(BATCH),
            keys: Vec::with_capacity(BATCH),
            firsts: Vec::with_capacity(BATCH),
        };
        // memchr finds line ends many bytes at a time (a byte loop here was a fifth of decoding).
        let mut start = 0;
        let mut line_no = 0u64;
        let mut recorded = 0usize;
        let ends = memchr::memchr_iter(b'\n', text).chain(std::iter::once(text.len()));
        for end in ends {
            let line = &text[start..end];
            start = end + 1;
            line_no += 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let refused = if !parser.push_line(line, &mut batch.events) {
                Some((None, NOT_AN_EVENT.to_string()))
            } else {
                batch.events.last().and_then(|event| {
                    let reason = event.impossible_value()?;
                    Some((Some(event.eid.to_string()), reason))
                })
            };
            if let Some((eid, reason)) = refused {
                if eid.is_some() {
                    batch.events.pop();
                }
                counts.rejected += 1;
                if recorded < QUARANTINED_LINES_PER_OBJECT {
                    recorded += 1;
                    self.quarantine.push(Quarantined {
                        object: index,
                        line: Some(line_no),
                        eid,
                        reason,
                    });
                }
                continue;
            }
            let Some(event) = batch.events.last() else {
                continue;
            };
            // Lines of an object mostly share a tenant: look it up when it changes.
            if last_tenant.0 != event.tenant_id {
                last_tenant = (
                    event.tenant_id.to_string(),
                    self.tenant_index(&event.tenant_id),
                    tenant_hash(&event.tenant_id),
                );
            }
            batch.keys.push(last_tenant.2 ^ eid_hash(&event.eid));
            batch.tenants.push(last_tenant.1);
            if batch.events.len() == BATCH {
                self.fold_batch(&mut batch, seen, exclude, &mut counts);
            }
        }
        self.fold_batch(&mut batch, seen, exclude, &mut counts);
        if self.per_object.len() <= index {
            self.per_object.resize(index + 1, ObjectCounts::default());
        }
        self.per_object[index] = counts;
    }

    /// Keeps the batch's events seen for the first time and folds them in; empties the batch.
    fn fold_batch(
        &mut self,
        batch: &mut Batch<'_>,
        seen: &SeenIds,
        exclude: &HashSet<i128>,
        counts: &mut ObjectCounts,
    ) {
        seen.first_of(&batch.keys, &mut batch.firsts);
        let events = batch.events.iter().zip(&batch.tenants);
        for (((event, &tenant), &key), &first) in events.zip(&batch.keys).zip(&batch.firsts) {
            if !first || (!exclude.is_empty() && exclude.contains(&key)) {
                counts.duplicates += 1;
                continue;
            }
            counts.inserted += 1;
            self.ids.push(EventId {
                tenant,
                key,
                ts: event.ts,
            });
            self.fold_event(tenant, event);
        }
        batch.events.clear();
        batch.tenants.clear();
        batch.keys.clear();
    }

    fn fold_event(&mut self, tenant: u32, e: &LakeEvent<'_>) {
        if e.event_type == "identify" {
            if let (Some(anonymous_id), Some(user_id)) = (&e.anonymous_id, &e.user_id) {
                self.identifies.push(Identify {
                    tenant,
                    anonymous_id: anonymous_id.to_string(),
                    user_id: user_id.to_string(),
                    ts: e.ts,
                });
            }
        }
        let Some(view_id) = e.view_id.as_deref() else {
            return;
        };
        if e.device_type.as_deref() == Some("bot") {
            return;
        }
        let event = ViewEvent {
            eid: &e.eid,
            ts: e.ts,
            received_at: e.received_at.unwrap_or(e.ts),
            kind: Some(ViewEventKind::of(&e.event_type)),
            fatal: e.fatal.unwrap_or(false),
            business_exception: e.business_error.unwrap_or(false),
            seek_ms: e.seek_ms,
            user_id: e.user_id.as_deref(),
            ttff_ms: e.ttff_ms,
            watched_ms: e.watched_ms,
            rebuffer_ms: e.rebuffer_ms,
            position_s: e.position_s,
            duration_s: e.duration_s,
            dims: view::dims_of(e),
            played: e.played.as_ref().map_or(&[], Ranges::as_slice),
        };
        let views = &mut self.views[tenant as usize];
        match views.get_mut(view_id) {
            Some(timeline) => timeline.add_event(&event),
            None => {
                let mut timeline = Timeline::default();
                timeline.add_event(&event);
                views.insert(view_id.to_owned(), timeline);
            }
        }
    }

    /// Adds `other` (decoded from other objects) to this load.
    fn absorb(&mut self, other: FoldedLoad) {
        let remap: Vec<u32> = other.tenants.iter().map(|t| self.tenant_index(t)).collect();
        self.ids.reserve(other.ids.len());
        for id in &other.ids {
            let tenant = remap[id.tenant as usize];
            self.ids.push(EventId { tenant, ..*id });
        }
        if self.per_object.len() < other.per_object.len() {
            self.per_object
                .resize(other.per_object.len(), ObjectCounts::default());
        }
        for (i, counts) in other.per_object.into_iter().enumerate() {
            if counts != ObjectCounts::default() {
                self.per_object[i] = counts;
            }
        }
        for (t, views) in other.views.into_iter().enumerate() {
            let mine = &mut self.views[remap[t] as usize];
            for (view_id, timeline) in views {
                match mine.get_mut(&view_id) {
                    Some(existing) => existing.merge(timeline),
                    None => {
                        mine.insert(view_id, timeline);
                    }
                }
            }
        }
        self.identifies
            .extend(other.identifies.into_iter().map(|i| Identify {
                tenant: remap[i.tenant as usize],
                ..i
            }));
        self.quarantine.extend(other.quarantine);
    }
}

/// Decoding threads of a load.
pub(crate) fn fold_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(4))
}

/// Decodes a chunk of objects (`blobs[i]` holds `objects[i]`), ahead of [`Store::load_folded`]: the
/// slow part of a load, which needs no database, so a pull decodes the next chunk while the store
/// takes this one. `seen`: the events of the pull's earlier chunks.
pub fn fold_chunk(blobs: &[&[u8]], seen: Option<&SeenIds>) -> FoldedChunk {
    let clock = std::time::Instant::now();
    let load = fold_objects(blobs, &HashSet::new(), fold_threads(), seen);
    FoldedChunk {
        load,
        decode_s: clock.elapsed().as_secs_f64(),
        pull: seen.and_then(SeenIds::complete_pull),
    }
}

/// A decoded chunk of objects, with how long decoding took.
pub struct FoldedChunk {
    pub(crate) load: FoldedLoad,
    pub(crate) decode_s: f64,
    /// The pull of the chunk, if its events were checked against every event of the pull's
    /// earlier chunks while decoding: then the database only holds copies of them in events
    /// of earlier pulls.
    pub(crate) pull: Option<i64>,
}

/// Decodes objects on up to `threads` threads. Events whose key ([`event_key`]) is in `exclude` are
/// counted as duplicates, and so is every copy of an event after the first seen in the load, or in
/// `seen` when given (a pull's earlier chunks); in object order when `threads` is 1.
///
/// An object that is not gzip, or decompresses past [`MAX_OBJECT_BYTES`], and a line that is not
/// an event or holds a value that cannot happen, are quarantined ([`FoldedLoad::quarantine`]): the
/// other objects and lines load as if it were not there. So does an object whose decoding panicked.
pub fn fold_objects(
    objects: &[&[u8]],
    exclude: &HashSet<i128>,
    threads: usize,
    seen: Option<&SeenIds>,
) -> FoldedLoad {
    let threads = threads.clamp(1, objects.len().max(1));
    let next = AtomicUsize::new(0);
    let compressed: usize = objects.iter().map(|o| o.len()).sum();
    let own;
    let seen = match seen {
        Some(seen) => seen,
        None => {
            own = SeenIds::for_gzip_bytes(compressed as u64);
            &own
        }
    };
    let work = || -> FoldedLoad {
        let mut load = FoldedLoad::default();
        let mut text = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(gz) = objects.get(index) else {
                return load;
            };
            let whole_object = |reason: String| Quarantined {
                object: index,
                line: None,
                eid: None,
                reason,
            };
            if let Err(e) = gunzip_into(index, gz, &mut text) {
                load.quarantine.push(whole_object(e.to_string()));
                continue;
            }
            // A panic while folding one object (a bug; no input is known to cause one) must not
            // stop every tenant's load: that object's work is set aside and it is quarantined.
            let mut attempt = FoldedLoad::default();
            let folded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                attempt.fold_object(index, &text, seen, exclude);
                attempt
            }));
            match folded {
                Ok(one) => load.absorb(one),
                Err(_) => load.quarantine.push(whole_object(
                    "decoding the object failed (a panic, logged); its events were left out".into(),
                )),
            }
        }
    };
    let mut loads = if threads == 1 {
        vec![work()]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect::<Vec<_>>()
        })
    };
    let mut load = loads.pop().unwrap_or_default();
    for other in loads {
        load.absorb(other);
    }
    load.per_object
        .resize(objects.len(), ObjectCounts::default());
    load
}

/// Why a line that is not an event was left out.
const NOT_AN_EVENT: &str =
    "the line is not an event of the lake format (a JSON object with tenant_id, eid, type and ts)";

#[cfg(test)]
mod tests {
    use super::*;
    use seen::event_key;
    use std::io::Write;

    fn gz(text: &str) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).expect("write");
        e.finish().expect("gzip")
    }

    fn line(tenant: &str, eid: &str, ty: &str, ts: i64, view: &str) -> String {
        format!(
            "{{\"tenant_id\":\"{tenant}\",\"eid\":\"{eid}\",\"type\":\"{ty}\",\"ts\":{ts},\"received_at\":{ts},\
             \"anonymous_id\":\"a\",\"view_id\":\"{view}\",\"content_id\":\"c\\u0031\",\"watched_ms\":1000,\
             \"played\":[[0.0,1.0]],\"props\":{{\"plan\":\"free\"}}}}\n"
        )
    }

    #[test]
    fn lines_become_ids_views_and_counts() {
        let a = gz(&(line("t1", "e1", "view_start", 10, "v1")
            + &line("t1", "e2", "heartbeat", 20, "v1")
            + "not json\n\n"
            + &line("t2", "e1", "view_start", 30, "v9")));
        let b =
            gz(&(line("t1", "e2", "heartbeat", 20, "v1")
                + &line("t1", "e3", "heartbeat", 40, "v1")));
        for threads in [1, 2] {
            let load = fold_objects(&[&a, &b], &HashSet::new(), threads, None);
            assert_eq!(load.events(), 4, "e2 once; t2's e1 is another tenant's");
            if threads == 1 {
                assert_eq!(
                    load.per_object[0],
                    ObjectCounts {
                        inserted: 3,
                        duplicates: 0,
                        rejected: 1
                    }
                );
                assert_eq!(
                    load.per_object[1],
                    ObjectCounts {
                        inserted: 1,
                        duplicates: 1,
                        rejected: 0
                    }
                );
            } else {
                let dups: u64 = load.per_object.iter().map(|c| c.duplicates).sum();
                assert_eq!(dups, 1);
            }
            let t1 = load.tenants.iter().position(|t| t == "t1").expect("t1");
            let v1 = &load.views[t1]["v1"];
            assert_eq!(v1.segments.len(), 1);
            let s = &v1.segments[0];
            assert_eq!(
                s.dims.get(view::Dim::ContentId),
                Some("c1"),
                "escapes decode"
            );
            assert_eq!(s.dims.get(view::Dim::Props), Some("{\"plan\":\"free\"}"));
            assert!(s.has_view_start);
        }
    }

    #[test]
    fn excluded_ids_count_as_duplicates() {
        let a = gz(&line("t1", "e1", "view_start", 10, "v1"));
        let exclude = HashSet::from([event_key("t1", "e1")]);
        let load = fold_objects(&[&a], &exclude, 1, None);
        assert_eq!(load.events(), 0);
        assert_eq!(load.per_object[0].duplicates, 1);
        assert!(load.views.iter().all(ViewMap::is_empty));
    }

    #[test]
    fn several_gzip_members_decode_whole() {
        let mut two = gz(&line("t1", "e1", "view_start", 10, "v1"));
        two.extend(gz(&line("t1", "e2", "heartbeat", 20, "v1")));
        let load = fold_objects(&[&two], &HashSet::new(), 1, None);
        assert_eq!(load.events(), 2);
    }

    #[test]
    fn a_trailer_claiming_gigabytes_allocates_nothing_of_the_sort() {
        // Found by the batch_loader fuzz target: the last four bytes claimed 2.8 GB.
        let mut claim = gz(&line("t1", "e1", "view_start", 10, "v1"));
        let n = claim.len();
        claim[n - 4..].copy_from_slice(&0xAC20_0000u32.to_le_bytes());
        let load = fold_objects(&[&claim], &HashSet::new(), 1, None);
        // flate2 checks the trailer too: a wrong size leaves the object out, allocating nothing.
        assert_eq!(load.events(), 0);
        assert_eq!(load.quarantine.len(), 1, "{:?}", load.quarantine);
        assert_eq!(load.quarantine[0].line, None);
    }

    #[test]
    fn a_corrupt_object_is_quarantined_naming_it_and_the_others_load() {
        let good = gz(&line("t1", "e1", "view_start", 10, "v1"));
        for threads in [1, 2] {
            let load = fold_objects(
                &[b"definitely not gzip data", &good],
                &HashSet::new(),
                threads,
                None,
            );
            assert_eq!(load.events(), 1, "the good object loads");
            assert_eq!(load.quarantine.len(), 1);
            let q = &load.quarantine[0];
            assert_eq!((q.object, q.line, q.eid.as_deref()), (0, None, None));
            assert!(q.reason.contains("object 0 is not valid gzip"), "{q:?}");
        }
    }

    #[test]
    fn lines_with_impossible_values_are_quarantined_and_the_rest_of_the_object_loads() {
        let poison = |eid: &str, field: &str, value: &str| {
            line("t1", eid, "heartbeat", 20, "v1").replace(
                "\"watched_ms\":1000",
                &format!("\"watched_ms\":1000,\"{field}\":{value}"),
            )
        };
        // The review's reproduction: two heartbeats of one view with watched_ms = i64::MAX.
        let text = line("t1", "e1", "view_start", 10, "v1")
            + &line("t1", "e2", "heartbeat", 20, "v1").replace("1000", "9223372036854775807")
            + &line("t1", "e3", "heartbeat", 30, "v1").replace("1000", "9223372036854775807")
            + &poison("e4", "rebuffer_ms", "-1")
            + &poison("e5", "position_s", "1e300")
            + &line("t1", "e6", "heartbeat", 40, "v1")
            + &line("t1", "e7", "heartbeat", -5, "v1")
            + "{\"not\":\"an event\"}\n";
        let load = fold_objects(&[&gz(&text)], &HashSet::new(), 1, None);
        assert_eq!(load.events(), 2, "e1 and e6 load");
        assert_eq!(load.per_object[0].inserted, 2);
        assert_eq!(load.per_object[0].rejected, 6);
        let lines: Vec<(Option<u64>, Option<&str>)> = load
            .quarantine
            .iter()
            .map(|q| (q.line, q.eid.as_deref()))
            .collect();
        assert_eq!(
            lines,
            [
                (Some(2), Some("e2")),
                (Some(3), Some("e3")),
                (Some(4), Some("e4")),
                (Some(5), Some("e5")),
                (Some(7), Some("e7")),
                (Some(8), None)
            ]
        );
        assert!(load.quarantine[0]
            .reason
            .contains("`watched_ms` is 9223372036854775807"));
        assert!(load.quarantine[4].reason.contains("`ts` is -5"));
        let v1 = &load.views[0]["v1"].segments[0];
        assert_eq!(v1.watched_ms, 2000, "only e1's and e6's watched time");
    }

    #[test]
    fn an_object_of_poison_lines_records_a_bounded_quarantine() {
        let text: String = (0..500)
            .map(|i| line("t1", &format!("e{i}"), "heartbeat", 20, "v1").replace("1000", "-7"))
            .collect();
        let load = fold_objects(&[&gz(&text)], &HashSet::new(), 1, None);
        assert_eq!(load.per_object[0].rejected, 500);
        assert_eq!(load.quarantine.len(), QUARANTINED_LINES_PER_OBJECT);
    }

    #[test]
    fn bots_are_stored_but_make_no_views() {
        let text = line("t1", "e1", "view_start", 10, "v1")
            .replace("\"played\"", "\"device_type\":\"bot\",\"played\"");
        let load = fold_objects(&[&gz(&text)], &HashSet::new(), 1, None);
        assert_eq!(load.events(), 1);
        assert!(load.views[0].is_empty());
    }
}
