//! Synthetic playback datasets written in the R2 lake layout (gzip NDJSON batch objects under
//! `events/v1/date=.../hour=.../tenant=.../<ulid>.ndjson.gz`), for the known-answer tests and the
//! benchmarks.
//!
//! The generator decides each view's truth first (who watched what, for how long, with what start-up
//! time, rebuffering and errors) and then writes the events an SDK and the edge would have produced for
//! it, including the awkward parts: duplicates from retries, bots, identify calls that claim earlier
//! views, continuations after 30 idle minutes, and events of one view spread over several objects.
//! [`expected`] computes the answers from the truth with plain Rust, independently of the server's SQL.

pub mod expected;
pub mod user_agents;

use event_schema::batch_key::BatchObjectKey;
use event_schema::key_policy::with_user_agent_string;
use event_schema::{ClientEvent, ContentType, EventType, GeoFields, StoredEvent, UserAgentFields};
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use user_agents::{UserAgent, UserAgentMix};

/// What a configuration generates, as a version: bump it whenever the same [`Config`] writes a
/// different lake, so that lakes cached by the benchmarks are generated again.
pub const DATASET_VERSION: &str = "lake-gen dataset 2 (real UA strings)";

/// A small, fast, deterministic PRNG (SplitMix64): the same seed gives the same dataset.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, n)`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A number in `[lo, hi]`.
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1).max(1) as u64) as i64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A place as the edge's `request.cf` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub continent: &'static str,
    pub country: &'static str,
    pub subdivision: &'static str,
    pub timezone: &'static str,
}

/// The places views come from.
pub const PLACES: [Place; 6] = [
    Place {
        continent: "NA",
        country: "US",
        subdivision: "CA",
        timezone: "America/Los_Angeles",
    },
    Place {
        continent: "NA",
        country: "US",
        subdivision: "NY",
        timezone: "America/New_York",
    },
    Place {
        continent: "EU",
        country: "DE",
        subdivision: "BE",
        timezone: "Europe/Berlin",
    },
    Place {
        continent: "EU",
        country: "FR",
        subdivision: "IDF",
        timezone: "Europe/Paris",
    },
    Place {
        continent: "AS",
        country: "JP",
        subdivision: "13",
        timezone: "Asia/Tokyo",
    },
    Place {
        continent: "SA",
        country: "BR",
        subdivision: "SP",
        timezone: "America/Sao_Paulo",
    },
];

/// Sites that embed the player.
pub const SITES: [&str; 3] = ["tv.example", "blog.example.org", "news.example.net"];

/// What one view was, as the generator decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthView {
    pub tenant_id: String,
    pub view_id: String,
    /// 0, or 1 for a continuation after 30 idle minutes (a view of its own).
    pub segment: u32,
    pub started_ms: i64,
    pub content_id: String,
    pub content_type: &'static str,
    pub duration_s: f64,
    pub anonymous_id: String,
    /// The person: the user id of the anonymous id's latest identify, else the anonymous id.
    pub viewer_id: String,
    pub ttff_ms: Option<i64>,
    pub watched_ms: i64,
    pub rebuffer_ms: i64,
    pub fatal_error: bool,
    pub reached_first_frame: bool,
    pub played: Vec<[f64; 2]>,
    pub source: String,
    /// The viewer's browser (one per anonymous id, as a browser's local storage is).
    pub ua: &'static UserAgent,
    pub place: Place,
    /// The `plan` custom prop of the view's first event.
    pub plan: Option<&'static str>,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    pub tenants: Vec<String>,
    /// Stop once this many events are written.
    pub events: u64,
    /// Views start within this many days before `now_ms` (and at least an hour before it).
    pub days: i64,
    pub now_ms: i64,
    pub contents: u64,
    /// Anonymous ids per tenant.
    pub viewers: u64,
    /// Events per batch object at most.
    pub object_events: usize,
    /// Keep the truth of every view (for known answers; off for big benchmark sets).
    pub keep_truth: bool,
    /// Tenants whose key keeps the full UA string (`store_user_agent`): their events carry it.
    pub store_user_agent: Vec<String>,
}

/// What was written.
#[derive(Debug, Default)]
pub struct Generated {
    pub truth: Vec<TruthView>,
    /// Events written, duplicates included.
    pub events_written: u64,
    /// Distinct events (what a loader must store).
    pub distinct_events: u64,
    pub objects: u64,
    pub bytes: u64,
    /// Views of bots (written, never counted).
    pub bot_views: u64,
}

struct Content {
    id: String,
    kind: ContentType,
    duration_s: f64,
}

struct Viewer {
    anonymous_id: String,
    ua: &'static UserAgent,
    /// (user id, time of identify)
    identity: Option<(String, i64)>,
}

/// Most events held in memory at once (~1 KB each): past it, the fullest object is written early, so
/// a 100 M-event lake fits in memory. Lakes of up to this many events are written exactly as before.
const MAX_BUFFERED_EVENTS: usize = 11_000_000;

/// An event as the edge buffers it, with the full UA string of its request when the key opted in
/// to keeping it (the edge adds it to the event's line as it buffers the request).
struct Buffered {
    event: StoredEvent,
    user_agent: Option<&'static str>,
}

/// Buffers events per (tenant, flush hour) and writes full objects.
struct LakeWriter {
    root: PathBuf,
    object_events: usize,
    buffers: BTreeMap<(String, i64), Vec<Buffered>>,
    buffered: usize,
    /// [`MAX_BUFFERED_EVENTS`], smaller in tests.
    max_buffered: usize,
    rng: Rng,
    objects: u64,
    bytes: u64,
}

impl LakeWriter {
    /// Buffers `event`; `user_agent` is the request's full UA string if the key keeps it.
    fn push(&mut self, event: StoredEvent, user_agent: Option<&'static str>) -> anyhow::Result<()> {
        // Objects are flushed by the edge within the hour the events arrived.
        let hour = event.received_at.div_euclid(3_600_000);
        let key = (event.tenant_id.clone(), hour);
        let buffer = self.buffers.entry(key.clone()).or_default();
        buffer.push(Buffered { event, user_agent });
        self.buffered += 1;
        let full = if buffer.len() >= self.object_events {
            Some(key)
        } else if self.buffered > self.max_buffered {
            self.buffers
                .iter()
                .max_by_key(|(_, events)| events.len())
                .map(|(key, _)| key.clone())
        } else {
            None
        };
        if let Some(events) = full.and_then(|key| self.buffers.remove_entry(&key)) {
            self.buffered -= events.1.len();
            self.write(&(events.0).0, &events.1)?;
        }
        Ok(())
    }

    fn write(&mut self, tenant: &str, events: &[Buffered]) -> anyhow::Result<()> {
        let flushed_at = events
            .iter()
            .map(|e| e.event.received_at)
            .max()
            .unwrap_or(0)
            + 1_000;
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.rng.next_u64().to_le_bytes());
        let key = BatchObjectKey::new(tenant, flushed_at, random);
        let path = self.root.join(key.as_str());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Serialise first, then compress in one call (many small writes into the encoder are slow).
        let mut raw = Vec::with_capacity(events.len() * 700);
        for e in events {
            match e.user_agent {
                None => {
                    serde_json::to_writer(&mut raw, &e.event)?;
                    raw.push(b'\n');
                }
                // The line exactly as the edge writes it for a key that keeps UA strings.
                Some(ua) => raw.extend_from_slice(
                    with_user_agent_string(&serde_json::to_string(&e.event)?, ua).as_bytes(),
                ),
            }
        }
        let mut gz = GzEncoder::new(Vec::with_capacity(raw.len() / 8), Compression::fast());
        gz.write_all(&raw)?;
        let bytes = gz.finish()?;
        self.bytes += bytes.len() as u64;
        std::fs::write(&path, bytes)?;
        self.objects += 1;
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        let buffers = std::mem::take(&mut self.buffers);
        for ((tenant, _), events) in buffers {
            self.write(&tenant, &events)?;
        }
        Ok(())
    }
}

fn template(tenant: &str) -> StoredEvent {
    StoredEvent {
        tenant_id: tenant.to_string(),
        key_id: "genkey".into(),
        received_at: 0,
        event: ClientEvent {
            player_name: Some("html5".into()),
            ..ClientEvent::new(EventType::Heartbeat, 0, "", "")
        },
        user_agent: UserAgentFields::default(),
        geo: GeoFields::default(),
    }
}

/// Writes a dataset under `root` (created if missing) and returns what was written.
pub fn generate(config: &Config, root: &Path) -> anyhow::Result<Generated> {
    let mut rng = Rng::new(config.seed);
    let mut writer = LakeWriter {
        root: root.to_path_buf(),
        object_events: config.object_events.max(1),
        buffers: BTreeMap::new(),
        buffered: 0,
        max_buffered: MAX_BUFFERED_EVENTS,
        rng: Rng::new(config.seed ^ 0x5EED),
        objects: 0,
        bytes: 0,
    };
    let kinds = [
        ContentType::Film,
        ContentType::Series,
        ContentType::Short,
        ContentType::Live,
    ];
    let contents: Vec<Content> = (0..config.contents.max(1))
        .map(|i| {
            let kind = kinds[(i % 4) as usize];
            let duration_s = match kind {
                ContentType::Short => rng.between(30, 120),
                ContentType::Live => rng.between(1_800, 3_600),
                _ => rng.between(300, 2_400),
            } as f64;
            Content {
                id: format!("content-{i:04}"),
                kind,
                duration_s,
            }
        })
        .collect();
    // Viewers per tenant, each in one browser; a quarter identify, and pairs of anonymous ids share
    // one user (two devices).
    let user_agents = UserAgentMix::default();
    let mut viewers: HashMap<String, Vec<Viewer>> = HashMap::new();
    for tenant in &config.tenants {
        let list = (0..config.viewers.max(1))
            .map(|i| Viewer {
                anonymous_id: format!("anon-{tenant}-{i}"),
                ua: user_agents.human(&mut rng),
                identity: (i % 4 == 0).then(|| {
                    (
                        format!("user-{tenant}-{}", i / 8),
                        config.now_ms - rng.between(0, 3_600_000),
                    )
                }),
            })
            .collect();
        viewers.insert(tenant.clone(), list);
    }
    let keeps_user_agent = |tenant: &str| config.store_user_agent.iter().any(|t| t == tenant);
    let mut out = Generated::default();
    let mut view_number = 0u64;
    let earliest = config.now_ms - config.days.max(1) * 86_400_000;
    while out.events_written < config.events {
        view_number += 1;
        let tenant = rng.pick(&config.tenants).clone();
        let content = rng.pick(&contents);
        let viewer = rng.pick(&viewers[&tenant]);
        let place = *rng.pick(&PLACES);
        let bot = rng.chance(0.02);
        // A crawler replays the page with its own UA; people watch in their browser.
        let ua = if bot {
            user_agents.bot(&mut rng)
        } else {
            viewer.ua
        };
        let site = rng.pick(&SITES);
        let plan = if rng.chance(0.3) { "pro" } else { "free" };
        let start = rng.between(earliest, config.now_ms - 4 * 3_600_000);
        let view_id = format!("view-{view_number}");
        let session = format!("sess-{}-{}", viewer.anonymous_id, start / 86_400_000);
        let page_url = format!(
            "https://{site}/watch/{}?utm_source=gen{}",
            content.id,
            rng.below(3)
        );
        let mut events: Vec<StoredEvent> = Vec::new();
        let mut seq = 0u32;
        let mut base = template(&tenant);
        base.event.anonymous_id = viewer.anonymous_id.clone();
        base.event.session_id = Some(session.clone());
        base.event.view_id = Some(view_id.clone());
        base.event.content_id = Some(content.id.clone());
        base.event.content_type = Some(content.kind);
        base.event.duration_s = Some(content.duration_s);
        base.event.page_url = Some(page_url.clone());
        base.user_agent = ua.fields();
        let raw_user_agent = keeps_user_agent(&tenant).then_some(ua.user_agent);
        base.geo = GeoFields {
            continent: Some(place.continent.into()),
            country: Some(place.country.into()),
            subdivision: Some(place.subdivision.into()),
            city: None,
            timezone: Some(place.timezone.into()),
            colo: Some("FRA".into()),
        };
        let mut emit = |events: &mut Vec<StoredEvent>,
                        kind: EventType,
                        ts: i64,
                        edit: &dyn Fn(&mut ClientEvent)| {
            let mut e = base.clone();
            e.event.event_type = kind;
            e.event.ts = ts;
            seq += 1;
            e.event.eid = format!("{view_id}-{seq}");
            e.received_at = ts + 300 + (seq as i64 * 7) % 1_700;
            edit(&mut e.event);
            events.push(e);
        };
        emit(&mut events, EventType::ViewStart, start, &|e| {
            e.props.insert("plan".into(), Value::from(plan));
        });
        let mut truth = TruthView {
            tenant_id: tenant.clone(),
            view_id: view_id.clone(),
            segment: 0,
            started_ms: start,
            content_id: content.id.clone(),
            content_type: content.kind.as_str(),
            duration_s: content.duration_s,
            anonymous_id: viewer.anonymous_id.clone(),
            viewer_id: viewer
                .identity
                .as_ref()
                .map_or(viewer.anonymous_id.clone(), |(user, _)| user.clone()),
            ttff_ms: None,
            watched_ms: 0,
            rebuffer_ms: 0,
            fatal_error: false,
            reached_first_frame: false,
            played: Vec::new(),
            source: format!("https://{site}/watch/{}", content.id),
            ua,
            place,
            plan: Some(plan),
        };
        let outcome = rng.below(100);
        let mut clock = start;
        let mut continuation: Option<TruthView> = None;
        if outcome < 8 {
            // A fatal error before the first frame.
            clock += rng.between(200, 5_000);
            emit(&mut events, EventType::Error, clock, &|e| {
                e.fatal = Some(true);
                e.error_code = Some("MEDIA_ERR_SRC_NOT_SUPPORTED".into());
            });
            truth.fatal_error = true;
        } else if outcome < 20 {
            // Left before the first frame.
            if rng.chance(0.5) {
                clock += rng.between(500, 8_000);
                emit(&mut events, EventType::ViewEnd, clock, &|_| {});
            }
        } else {
            let ttff = rng.between(150, 4_000);
            clock += ttff;
            emit(&mut events, EventType::FirstFrame, clock, &|e| {
                e.ttff_ms = Some(ttff)
            });
            truth.ttff_ms = Some(ttff);
            truth.reached_first_frame = true;
            let mut position = if rng.chance(0.2) {
                (content.duration_s * 0.3).floor()
            } else {
                0.0
            };
            let want_s = rng.between(3, (content.duration_s as i64).min(1_800)) as f64;
            let mut watched_s = 0.0;
            while watched_s < want_s && position < content.duration_s {
                let step = (want_s - watched_s)
                    .min(10.0)
                    .min(content.duration_s - position);
                let rebuffer = if rng.chance(0.12) {
                    rng.between(300, 3_000)
                } else {
                    0
                };
                if rebuffer > 0 {
                    emit(&mut events, EventType::RebufferStart, clock + 1, &|e| {
                        e.position_s = Some(position)
                    });
                }
                clock += (step * 1000.0) as i64 + rebuffer;
                let (from, to) = (position, position + step);
                emit(&mut events, EventType::Heartbeat, clock, &|e| {
                    e.watched_ms = Some((step * 1000.0) as i64);
                    e.rebuffer_ms = Some(rebuffer);
                    e.played = Some(vec![[from, to]]);
                    e.position_s = Some(to);
                });
                truth.watched_ms += (step * 1000.0) as i64;
                truth.rebuffer_ms += rebuffer;
                truth.played.push([from, to]);
                watched_s += step;
                position = to;
            }
            if position >= content.duration_s {
                clock += 5;
                emit(&mut events, EventType::Ended, clock, &|e| {
                    e.position_s = Some(position)
                });
            } else if rng.chance(0.04) {
                clock += 500;
                emit(&mut events, EventType::Error, clock, &|e| {
                    e.fatal = Some(true);
                    e.error_code = Some("MEDIA_ERR_NETWORK".into());
                });
                truth.fatal_error = true;
            } else if rng.chance(0.06) {
                // The tab sat idle for 40 minutes, then playback resumed: a view of its own.
                clock += 40 * 60_000;
                let mut next = TruthView {
                    segment: 1,
                    started_ms: clock + 10_000,
                    ttff_ms: None,
                    watched_ms: 0,
                    rebuffer_ms: 0,
                    fatal_error: false,
                    reached_first_frame: true,
                    played: Vec::new(),
                    plan: None,
                    ..truth.clone()
                };
                for _ in 0..rng.between(1, 3) {
                    if position >= content.duration_s - 10.0 {
                        break;
                    }
                    clock += 10_000;
                    let (from, to) = (position, position + 10.0);
                    emit(&mut events, EventType::Heartbeat, clock, &|e| {
                        e.watched_ms = Some(10_000);
                        e.rebuffer_ms = Some(0);
                        e.played = Some(vec![[from, to]]);
                        e.position_s = Some(to);
                    });
                    next.watched_ms += 10_000;
                    next.played.push([from, to]);
                    position = to;
                }
                if next.watched_ms > 0 {
                    continuation = Some(next);
                }
            }
            if rng.chance(0.5) {
                clock += 100;
                emit(&mut events, EventType::ViewEnd, clock, &|_| {});
            }
        }
        // Retries: a few events reach the lake twice, in other objects.
        let retries: Vec<StoredEvent> = events
            .iter()
            .filter(|_| rng.chance(0.02))
            .map(|e| {
                let mut again = e.clone();
                again.received_at += 3_600_000;
                again
            })
            .collect();
        out.distinct_events += events.len() as u64;
        out.events_written += (events.len() + retries.len()) as u64;
        for e in events.into_iter().chain(retries) {
            writer.push(e, raw_user_agent)?;
        }
        if bot {
            out.bot_views += 1;
        } else if config.keep_truth {
            out.truth.push(truth);
            out.truth.extend(continuation);
        }
    }
    // identify calls, at the end (they claim the earlier views).
    for tenant in &config.tenants {
        for viewer in &viewers[tenant] {
            if let Some((user, ts)) = &viewer.identity {
                let mut e = template(tenant);
                e.event.event_type = EventType::Identify;
                e.event.ts = *ts;
                e.event.eid = format!("identify-{}", viewer.anonymous_id);
                e.event.anonymous_id = viewer.anonymous_id.clone();
                e.event.user_id = Some(user.clone());
                e.received_at = ts + 500;
                // Sent from the viewer's browser, like its views.
                e.user_agent = viewer.ua.fields();
                writer.push(e, keeps_user_agent(tenant).then_some(viewer.ua.user_agent))?;
                out.events_written += 1;
                out.distinct_events += 1;
            }
        }
    }
    writer.finish()?;
    out.objects = writer.objects;
    out.bytes = writer.bytes;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_memory_cap_the_fullest_object_is_written_early_and_no_event_is_lost() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut writer = LakeWriter {
            root: dir.path().to_path_buf(),
            object_events: 1_000,
            buffers: BTreeMap::new(),
            buffered: 0,
            max_buffered: 10,
            rng: Rng::new(1),
            objects: 0,
            bytes: 0,
        };
        for i in 0..40 {
            let mut e = template(if i % 2 == 0 { "acme" } else { "globex" });
            e.event.eid = format!("e{i}");
            e.received_at = 1_795_000_000_000 + i64::from(i % 4) * 3_600_000;
            writer.push(e, None).expect("push");
            assert!(writer.buffered <= 10, "at most the cap is held");
        }
        assert!(writer.objects >= 3, "objects written before the end");
        writer.finish().expect("finish");
        let mut eids = Vec::new();
        for path in walk(dir.path()) {
            let gz = flate2::read::GzDecoder::new(std::fs::File::open(path).expect("object"));
            for line in std::io::BufRead::lines(std::io::BufReader::new(gz)) {
                let v: Value = serde_json::from_str(&line.expect("line")).expect("json");
                eids.push(v["eid"].as_str().unwrap_or("").to_string());
            }
        }
        eids.sort();
        let mut want: Vec<String> = (0..40).map(|i| format!("e{i}")).collect();
        want.sort();
        assert_eq!(eids, want);
    }

    #[test]
    fn lines_of_tenants_that_keep_user_agents_start_with_the_full_string_as_the_edge_writes_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config {
            seed: 4,
            tenants: vec!["acme".into(), "globex".into()],
            events: 3_000,
            days: 2,
            now_ms: 1_795_000_000_000,
            contents: 3,
            viewers: 40,
            object_events: 500,
            keep_truth: false,
            store_user_agent: vec!["globex".into()],
        };
        generate(&config, dir.path()).expect("generate");
        let (mut kept, mut plain) = (0, 0);
        for path in walk(dir.path()) {
            let gz = flate2::read::GzDecoder::new(std::fs::File::open(&path).expect("object"));
            for line in std::io::BufRead::lines(std::io::BufReader::new(gz)) {
                let line = line.expect("line");
                let v: Value = serde_json::from_str(&line).expect("json");
                if v["tenant_id"] == "globex" {
                    assert!(line.starts_with("{\"user_agent\":\""), "{line}");
                    let row = user_agents::USER_AGENTS
                        .iter()
                        .find(|ua| v["user_agent"] == ua.user_agent)
                        .expect("a real UA string");
                    assert_eq!(v["device_type"], row.device_type, "{line}");
                    kept += 1;
                } else {
                    assert!(v.get("user_agent").is_none(), "{line}");
                    plain += 1;
                }
            }
        }
        assert!(kept > 1_000 && plain > 1_000, "{kept} {plain}");
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }
}
