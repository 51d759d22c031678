//! Synthetic playback datasets written in the R2 lake layout (gzip NDJSON batch objects under
//! `events/v1/date=.../hour=.../tenant=.../<ulid>.ndjson.gz`), for the known-answer tests and the
//! benchmarks.
//!
//! The generator decides each view's truth first (who watched what, for how long, with what start-up
//! time, rebuffering, seeks and errors, in which browser: [`user_agents`]) and then writes the events an
//! SDK and the edge would have produced for it, including the awkward parts: duplicates from retries,
//! bots, identify calls that claim earlier views, continuations after 30 idle minutes, seeks that land
//! in the middle of idle time (activity: the view stays whole) or start a continuation, heartbeats
//! whose played ranges jump at a seek, and events of one view spread over several objects.
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
pub const DATASET_VERSION: &str =
    "lake-gen dataset 4 (real UA strings, seeks with seek_ms, business exceptions)";

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

/// Players the views are played in.
const PLAYERS: [&str; 4] = ["hls.js", "shaka-player", "video.js", "html5"];

/// Sites that embed the player.
pub const SITES: [&str; 3] = ["tv.example", "blog.example.org", "news.example.net"];

/// Share of the views that play in which the viewer seeks (1 to 3 times), besides seeks around idle
/// time: about a fifth of all views seek.
const SEEKING_VIEWS: f64 = 0.25;

/// Media seconds of a position in milliseconds.
fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// Where a seek from `from_ms` lands: mostly ahead (half of those a short skip of up to 30 s), else
/// back; at least 5 s away and at least 1 s before the end. None when the content is too short.
fn seek_target_ms(rng: &mut Rng, from_ms: i64, duration_ms: i64) -> Option<i64> {
    let latest = duration_ms - 1_000;
    let (ahead, back) = (from_ms + 5_000 <= latest, from_ms >= 5_000);
    if ahead && (!back || rng.chance(0.7)) {
        let furthest = if rng.chance(0.5) {
            (from_ms + 30_000).min(latest)
        } else {
            latest
        };
        Some(rng.between(from_ms + 5_000, furthest))
    } else if back {
        Some(rng.between(0, from_ms - 5_000))
    } else {
        None
    }
}

/// A `seek` as the SDK sends it: the new position, and where it came from (`from_s`, a field the
/// contract does not know, so the edge keeps it in `props`).
fn seek_fields(e: &mut ClientEvent, from_s: f64, to_s: f64, seek_ms: i64) {
    e.position_s = Some(to_s);
    e.seek_ms = Some(seek_ms);
    e.props.insert("from_s".into(), Value::from(from_s));
}

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
    /// Stalls (`rebuffer_start` events).
    pub rebuffer_count: i64,
    /// A fatal error of any kind; of it, a business exception (`business_error`) or not.
    pub fatal_error: bool,
    pub business_exception: bool,
    pub playback_failure: bool,
    /// Seeks, and their seeking time summed (ms).
    pub seek_count: i64,
    pub seek_ms: i64,
    pub reached_first_frame: bool,
    /// Client time of its last event: when it ended.
    pub last_ms: i64,
    /// It ended cleanly: an `ended` or `view_end` among its events.
    pub ended: bool,
    pub played: Vec<[f64; 2]>,
    pub source: String,
    /// The viewer's browser (one per anonymous id, as a browser's local storage is).
    pub ua: &'static UserAgent,
    pub place: Place,
    /// The `plan` custom prop of the view's first event.
    pub plan: Option<&'static str>,
    /// The player its events name.
    pub player_name: &'static str,
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
    /// Playback attempts (view ids), bots included.
    pub views: u64,
    /// Views of bots (written, never counted).
    pub bot_views: u64,
    /// Views of people with at least one seek.
    pub seek_views: u64,
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

/// Most events held in memory at once (as their NDJSON lines, ~700 bytes each): past it, the fullest
/// object is written early, so a 100 M-event lake fits in memory. Lakes of up to this many events are
/// written exactly as before.
const MAX_BUFFERED_EVENTS: usize = 11_000_000;

/// An event as the edge buffers it: its NDJSON line (with the full UA string of its request when the
/// key opted in to keeping it, as the edge adds it), serialised at once because the line takes less
/// than half the struct's memory (what bounds a 100 M-event lake's generation).
struct Buffered {
    received_at: i64,
    line: Box<[u8]>,
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
        let line = match user_agent {
            None => {
                let mut raw = serde_json::to_vec(&event)?;
                raw.push(b'\n');
                raw
            }
            // The line exactly as the edge writes it for a key that keeps UA strings.
            Some(ua) => with_user_agent_string(&serde_json::to_string(&event)?, ua).into_bytes(),
        };
        let buffer = self.buffers.entry(key.clone()).or_default();
        buffer.push(Buffered {
            received_at: event.received_at,
            line: line.into_boxed_slice(),
        });
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
        let flushed_at = events.iter().map(|e| e.received_at).max().unwrap_or(0) + 1_000;
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.rng.next_u64().to_le_bytes());
        let key = BatchObjectKey::new(tenant, flushed_at, random);
        let path = self.root.join(key.as_str());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Serialise first, then compress in one call (many small writes into the encoder are slow).
        let mut raw = Vec::with_capacity(events.iter().map(|e| e.line.len()).sum());
        for e in events {
            raw.extend_from_slice(&e.line);
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
    let contents = contents(config, &mut rng);
    let user_agents = UserAgentMix::default();
    let viewers = viewers(config, &mut rng, &user_agents);
    let world = World {
        config,
        contents: &contents,
        viewers: &viewers,
        user_agents: &user_agents,
        earliest_ms: config.now_ms - config.days.max(1) * 86_400_000,
    };
    let mut out = Generated::default();
    let mut view_number = 0u64;
    while out.events_written < config.events {
        view_number += 1;
        let view = world.view(&mut rng, view_number);
        if view.seeks > 0 && !view.bot {
            out.seek_views += 1;
        }
        // Retries: a few events reach the lake twice, in other objects.
        let retries: Vec<StoredEvent> = view
            .events
            .iter()
            .filter(|_| rng.chance(0.02))
            .map(|e| {
                let mut again = e.clone();
                again.received_at += 3_600_000;
                again
            })
            .collect();
        out.distinct_events += view.events.len() as u64;
        out.events_written += (view.events.len() + retries.len()) as u64;
        for e in view.events.into_iter().chain(retries) {
            writer.push(e, view.raw_user_agent)?;
        }
        out.views += 1;
        if view.bot {
            out.bot_views += 1;
        } else if config.keep_truth {
            out.truth.push(view.truth);
            out.truth.extend(view.continuation);
        }
    }
    world.identifies(&mut writer, &mut out)?;
    writer.finish()?;
    out.objects = writer.objects;
    out.bytes = writer.bytes;
    Ok(out)
}

/// The contents, a quarter of each kind.
fn contents(config: &Config, rng: &mut Rng) -> Vec<Content> {
    let kinds = [
        ContentType::Film,
        ContentType::Series,
        ContentType::Short,
        ContentType::Live,
    ];
    (0..config.contents.max(1))
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
        .collect()
}

/// Viewers per tenant, each in one browser; a quarter identify, and pairs of anonymous ids share one
/// user (two devices).
fn viewers(
    config: &Config,
    rng: &mut Rng,
    user_agents: &UserAgentMix,
) -> HashMap<String, Vec<Viewer>> {
    let mut viewers = HashMap::new();
    for tenant in &config.tenants {
        let list = (0..config.viewers.max(1))
            .map(|i| Viewer {
                anonymous_id: format!("anon-{tenant}-{i}"),
                ua: user_agents.human(rng),
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
    viewers
}

/// What views are drawn from.
struct World<'a> {
    config: &'a Config,
    contents: &'a [Content],
    viewers: &'a HashMap<String, Vec<Viewer>>,
    user_agents: &'a UserAgentMix,
    earliest_ms: i64,
}

/// One generated view: its events, and what it was.
struct GeneratedView {
    events: Vec<StoredEvent>,
    truth: TruthView,
    /// The view of its own that a playback resumed after 30 idle minutes makes.
    continuation: Option<TruthView>,
    seeks: u32,
    bot: bool,
    raw_user_agent: Option<&'static str>,
}

/// The events of one view as they are made: each a copy of the view's common fields.
struct ViewEvents {
    base: StoredEvent,
    view_id: String,
    seq: u32,
    events: Vec<StoredEvent>,
}

impl ViewEvents {
    fn emit(&mut self, kind: EventType, ts: i64, edit: impl FnOnce(&mut ClientEvent)) {
        let mut e = self.base.clone();
        e.event.event_type = kind;
        e.event.ts = ts;
        self.seq += 1;
        e.event.eid = format!("{}-{}", self.view_id, self.seq);
        e.received_at = ts + 300 + (self.seq as i64 * 7) % 1_700;
        edit(&mut e.event);
        self.events.push(e);
    }
}

impl World<'_> {
    /// Draws view number `view_number`: who watches what, where and how, and how it ends.
    fn view(&self, rng: &mut Rng, view_number: u64) -> GeneratedView {
        let config = self.config;
        let tenant = rng.pick(&config.tenants).clone();
        let content = rng.pick(self.contents);
        let viewer = rng.pick(&self.viewers[&tenant]);
        let place = *rng.pick(&PLACES);
        let bot = rng.chance(0.02);
        // A crawler replays the page with its own UA; people watch in their browser.
        let ua = if bot {
            self.user_agents.bot(rng)
        } else {
            viewer.ua
        };
        let site = rng.pick(&SITES);
        let plan = if rng.chance(0.3) { "pro" } else { "free" };
        let start = rng.between(self.earliest_ms, config.now_ms - 4 * 3_600_000);
        let view_id = format!("view-{view_number}");
        let session = format!("sess-{}-{}", viewer.anonymous_id, start / 86_400_000);
        let page_url = format!(
            "https://{site}/watch/{}?utm_source=gen{}",
            content.id,
            rng.below(3)
        );
        let mut base = template(&tenant);
        // The player from the view's number (drawing it would change every later draw).
        let player_name = PLAYERS[(view_number % PLAYERS.len() as u64) as usize];
        base.event.player_name = Some(player_name.into());
        base.event.anonymous_id = viewer.anonymous_id.clone();
        base.event.session_id = Some(session);
        base.event.view_id = Some(view_id.clone());
        base.event.content_id = Some(content.id.clone());
        base.event.content_type = Some(content.kind);
        base.event.duration_s = Some(content.duration_s);
        base.event.page_url = Some(page_url);
        base.user_agent = ua.fields();
        let raw_user_agent = config
            .store_user_agent
            .contains(&tenant)
            .then_some(ua.user_agent);
        base.geo = GeoFields {
            continent: Some(place.continent.into()),
            country: Some(place.country.into()),
            subdivision: Some(place.subdivision.into()),
            city: None,
            timezone: Some(place.timezone.into()),
            colo: Some("FRA".into()),
        };
        let mut events = ViewEvents {
            base,
            view_id: view_id.clone(),
            seq: 0,
            events: Vec::new(),
        };
        events.emit(EventType::ViewStart, start, |e| {
            e.props.insert("plan".into(), Value::from(plan));
        });
        let mut truth = TruthView {
            tenant_id: tenant.clone(),
            view_id,
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
            rebuffer_count: 0,
            fatal_error: false,
            business_exception: false,
            playback_failure: false,
            seek_count: 0,
            seek_ms: 0,
            reached_first_frame: false,
            last_ms: start,
            ended: false,
            played: Vec::new(),
            source: format!("https://{site}/watch/{}", content.id),
            ua,
            place,
            plan: Some(plan),
            player_name,
        };
        let mut playback = Playback {
            events,
            truth: &mut truth,
            clock: start,
            seeks: 0,
        };
        let outcome = rng.below(100);
        let mut continuation = None;
        if outcome < 8 {
            // A fatal error before the first frame; a quarter of them business exceptions.
            playback.clock += rng.between(200, 5_000);
            let business = outcome < 2;
            playback.events.emit(EventType::Error, playback.clock, |e| {
                e.fatal = Some(true);
                if business {
                    e.business_error = Some(true);
                    e.error_code = Some("GEO_BLOCKED".into());
                } else {
                    e.error_code = Some("MEDIA_ERR_SRC_NOT_SUPPORTED".into());
                }
            });
            playback.truth.fatal_error = true;
            playback.truth.business_exception = business;
            playback.truth.playback_failure = !business;
        } else if outcome < 20 {
            // Left before the first frame.
            if rng.chance(0.5) {
                playback.clock += rng.between(500, 8_000);
                playback
                    .events
                    .emit(EventType::ViewEnd, playback.clock, |_| {});
            }
        } else {
            continuation = playback.play(rng, content);
        }
        let seeks = playback.seeks;
        let events = playback.events.events;
        ends_and_stalls(&events, &mut truth, continuation.as_mut());
        GeneratedView {
            events,
            truth,
            continuation,
            seeks,
            bot,
            raw_user_agent,
        }
    }

    /// The identify calls, at the end (they claim the earlier views).
    fn identifies(&self, writer: &mut LakeWriter, out: &mut Generated) -> anyhow::Result<()> {
        for tenant in &self.config.tenants {
            let keeps_user_agent = self.config.store_user_agent.iter().any(|t| t == tenant);
            for viewer in &self.viewers[tenant] {
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
                    writer.push(e, keeps_user_agent.then_some(viewer.ua.user_agent))?;
                    out.events_written += 1;
                    out.distinct_events += 1;
                }
            }
        }
        Ok(())
    }
}

/// Sets when each part of a view ended, whether cleanly, and its stalls, from the events it was
/// given: the view's own events run up to the first gap of more than 30 minutes, the
/// continuation's after it (the rule of docs/api.md, restated here: the truth never calls the
/// server's code).
fn ends_and_stalls(
    events: &[StoredEvent],
    first: &mut TruthView,
    mut rest: Option<&mut TruthView>,
) {
    let mut times: Vec<(i64, EventType, Option<i64>)> = events
        .iter()
        .map(|e| (e.event.ts, e.event.event_type, e.event.seek_ms))
        .collect();
    times.sort_by_key(|t| t.0);
    let mut later = false;
    let mut previous = times.first().map_or(0, |t| t.0);
    for (ts, kind, seek_ms) in times {
        later |= ts - previous > 30 * 60_000;
        previous = ts;
        let view = match (later, rest.as_deref_mut()) {
            (false, _) => &mut *first,
            (true, Some(view)) => view,
            // A lone tail after the idle (no playback in it) is no view.
            (true, None) => continue,
        };
        view.last_ms = view.last_ms.max(ts);
        view.ended |= matches!(kind, EventType::Ended | EventType::ViewEnd);
        view.rebuffer_count += i64::from(kind == EventType::RebufferStart);
        if let (EventType::Seek, Some(ms)) = (kind, seek_ms) {
            view.seek_count += 1;
            view.seek_ms += ms;
        }
    }
}

/// A view that reached its first frame, as it plays on.
struct Playback<'t> {
    events: ViewEvents,
    truth: &'t mut TruthView,
    /// Client time of the latest event.
    clock: i64,
    seeks: u32,
}

impl Playback<'_> {
    /// First frame, heartbeats (with rebuffering and seeks) and an ending: the content's end, a
    /// fatal error, or an idle tab that resumes; the view of its own that a resume after 30 idle
    /// minutes makes, if any.
    fn play(&mut self, rng: &mut Rng, content: &Content) -> Option<TruthView> {
        let ttff = rng.between(150, 4_000);
        self.clock += ttff;
        self.events.emit(EventType::FirstFrame, self.clock, |e| {
            e.ttff_ms = Some(ttff)
        });
        self.truth.ttff_ms = Some(ttff);
        self.truth.reached_first_frame = true;
        // Media time in whole milliseconds, as the SDK rounds it.
        let duration_ms = (content.duration_s * 1000.0) as i64;
        let mut position_ms = if rng.chance(0.2) {
            (content.duration_s * 0.3).floor() as i64 * 1000
        } else {
            0
        };
        let want_ms = rng.between(3, (content.duration_s as i64).min(1_800)) * 1000;
        // Watched times at which the viewer moves the playhead, latest first.
        let mut seeks_at_ms: Vec<i64> = if rng.chance(SEEKING_VIEWS) {
            let count = match rng.below(20) {
                0..=11 => 1,
                12..=16 => 2,
                _ => 3,
            };
            let mut at: Vec<i64> = (0..count).map(|_| rng.between(1_000, want_ms)).collect();
            at.sort_unstable_by(|a, b| b.cmp(a));
            at
        } else {
            Vec::new()
        };
        let mut watched_ms = 0;
        while watched_ms < want_ms && position_ms < duration_ms {
            let step = (want_ms - watched_ms)
                .min(10_000)
                .min(duration_ms - position_ms);
            let rebuffer = if rng.chance(0.12) {
                rng.between(300, 3_000)
            } else {
                0
            };
            if rebuffer > 0 {
                let at = seconds(position_ms);
                self.events
                    .emit(EventType::RebufferStart, self.clock + 1, |e| {
                        e.position_s = Some(at)
                    });
            }
            // A seek inside this heartbeat's interval (away from its ends) splits its played
            // range: the heartbeat reports both parts, as the SDK's do.
            while seeks_at_ms.last().is_some_and(|&at| at < watched_ms + 500) {
                seeks_at_ms.pop();
            }
            let seek = seeks_at_ms
                .last()
                .filter(|&&at| at <= watched_ms + step - 500)
                .copied()
                .and_then(|at| {
                    let from_ms = position_ms + (at - watched_ms);
                    seek_target_ms(rng, from_ms, duration_ms).map(|to_ms| (at, from_ms, to_ms))
                });
            let (played, progress, seeking) = match seek {
                Some((at, from_ms, to_ms)) => {
                    seeks_at_ms.pop();
                    let before = at - watched_ms;
                    // Seeking takes a moment, neither watched nor rebuffering; `seek` is sent
                    // when it ends (`seeked`).
                    let seeking = rng.between(150, 1_500);
                    let (from, to) = (seconds(from_ms), seconds(to_ms));
                    self.events.emit(
                        EventType::Seek,
                        self.clock + rebuffer + before + seeking,
                        |e| seek_fields(e, from, to, seeking),
                    );
                    self.seeks += 1;
                    let after = (step - before).min(duration_ms - to_ms);
                    let played = vec![[seconds(position_ms), from], [to, seconds(to_ms + after)]];
                    position_ms = to_ms + after;
                    (played, before + after, seeking)
                }
                None => {
                    let played = vec![[seconds(position_ms), seconds(position_ms + step)]];
                    position_ms += step;
                    (played, step, 0)
                }
            };
            self.clock += progress + rebuffer + seeking;
            let at = seconds(position_ms);
            self.events.emit(EventType::Heartbeat, self.clock, |e| {
                e.watched_ms = Some(progress);
                e.rebuffer_ms = Some(rebuffer);
                e.played = Some(played.clone());
                e.position_s = Some(at);
            });
            self.truth.watched_ms += progress;
            self.truth.rebuffer_ms += rebuffer;
            self.truth.played.extend(played);
            watched_ms += progress;
        }
        let mut continuation = None;
        if position_ms >= duration_ms {
            self.clock += 5;
            let at = seconds(position_ms);
            self.events
                .emit(EventType::Ended, self.clock, |e| e.position_s = Some(at));
        } else if rng.chance(0.04) {
            self.clock += 500;
            self.events.emit(EventType::Error, self.clock, |e| {
                e.fatal = Some(true);
                e.error_code = Some("MEDIA_ERR_NETWORK".into());
            });
            self.truth.fatal_error = true;
            self.truth.playback_failure = true;
        } else if rng.chance(0.06) {
            continuation = self.idle_and_resume(rng, position_ms, duration_ms);
        }
        if rng.chance(0.5) {
            self.clock += 100;
            self.events.emit(EventType::ViewEnd, self.clock, |_| {});
        }
        continuation
    }

    /// The tab sat idle (paused) for 40 minutes or more, then playback resumed. Seeks are activity
    /// like any event: one in the middle of the idle time keeps every gap within 30 minutes (one
    /// view); else the resumed part is a view of its own, which a seek on coming back starts.
    fn idle_and_resume(
        &mut self,
        rng: &mut Rng,
        mut position_ms: i64,
        duration_ms: i64,
    ) -> Option<TruthView> {
        let idle_seek = match rng.below(3) {
            0 => None,
            kind => seek_target_ms(rng, position_ms, duration_ms).map(|to| (kind, to)),
        };
        let from = seconds(position_ms);
        let mut next = match idle_seek {
            Some((1, to_ms)) => {
                self.clock += rng.between(15, 29) * 60_000;
                let to = seconds(to_ms);
                let seeking = rng.between(100, 900);
                self.events.emit(EventType::Seek, self.clock, |e| {
                    seek_fields(e, from, to, seeking)
                });
                self.seeks += 1;
                position_ms = to_ms;
                self.clock += rng.between(15, 29) * 60_000;
                None
            }
            seek_on_return => {
                self.clock += 40 * 60_000;
                let mut started_ms = self.clock + 10_000;
                if let Some((_, to_ms)) = seek_on_return {
                    let to = seconds(to_ms);
                    let seeking = rng.between(100, 900);
                    self.events.emit(EventType::Seek, self.clock, |e| {
                        seek_fields(e, from, to, seeking)
                    });
                    self.seeks += 1;
                    position_ms = to_ms;
                    started_ms = self.clock;
                }
                Some(TruthView {
                    segment: 1,
                    started_ms,
                    ttff_ms: None,
                    watched_ms: 0,
                    rebuffer_ms: 0,
                    rebuffer_count: 0,
                    fatal_error: false,
                    reached_first_frame: true,
                    played: Vec::new(),
                    plan: None,
                    ..self.truth.clone()
                })
            }
        };
        for _ in 0..rng.between(1, 3) {
            if position_ms >= duration_ms - 10_000 {
                break;
            }
            self.clock += 10_000;
            let (from, to) = (seconds(position_ms), seconds(position_ms + 10_000));
            self.events.emit(EventType::Heartbeat, self.clock, |e| {
                e.watched_ms = Some(10_000);
                e.rebuffer_ms = Some(0);
                e.played = Some(vec![[from, to]]);
                e.position_s = Some(to);
            });
            let view = next.as_mut().unwrap_or(self.truth);
            view.watched_ms += 10_000;
            view.played.push([from, to]);
            position_ms += 10_000;
        }
        next.filter(|v| v.watched_ms > 0)
    }
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
            tenants: vec!["acme".into(), "globex".into()],
            store_user_agent: vec!["globex".into()],
            ..small_config(4, 3_000, 40)
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
        assert!(kept > 500 && plain > 500, "{kept} {plain}");
    }

    /// A small one-tenant dataset with its truth.
    fn small_config(seed: u64, events: u64, viewers: u64) -> Config {
        Config {
            seed,
            tenants: vec!["acme".into()],
            events,
            days: 3,
            now_ms: 1_795_000_000_000,
            contents: 8,
            viewers,
            object_events: 5_000,
            keep_truth: true,
            store_user_agent: Vec::new(),
        }
    }

    /// The events of each view id under `dir`, once each (retried copies left out), in time order.
    fn events_by_view(dir: &Path) -> HashMap<String, Vec<Value>> {
        let mut by_view: HashMap<String, Vec<Value>> = HashMap::new();
        for path in walk(dir) {
            let gz = flate2::read::GzDecoder::new(std::fs::File::open(&path).expect("object"));
            for line in std::io::BufRead::lines(std::io::BufReader::new(gz)) {
                let e: Value = serde_json::from_str(&line.expect("line")).expect("json");
                if let Some(view) = e["view_id"].as_str() {
                    by_view.entry(view.to_string()).or_default().push(e);
                }
            }
        }
        for events in by_view.values_mut() {
            events.sort_by(|a, b| {
                (a["ts"].as_i64(), a["eid"].as_str()).cmp(&(b["ts"].as_i64(), b["eid"].as_str()))
            });
            events.dedup_by(|a, b| a["eid"] == b["eid"]);
        }
        by_view
    }

    #[test]
    fn a_fifth_of_views_seek_and_the_next_heartbeat_plays_from_where_the_seek_landed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let generated = generate(&small_config(11, 60_000, 200), dir.path()).expect("generate");
        let people = generated.views - generated.bot_views;
        let share = generated.seek_views as f64 / people as f64;
        assert!(
            (0.15..=0.25).contains(&share),
            "{share} of {people} views seek"
        );
        let (mut split, mut seeks) = (0, 0);
        for events in events_by_view(dir.path()).values() {
            for (i, e) in events
                .iter()
                .enumerate()
                .filter(|(_, e)| e["type"] == "seek")
            {
                seeks += 1;
                let (from, to) = (&e["props"]["from_s"], &e["position_s"]);
                assert!(from.is_f64() && to.is_f64() && from != to, "{e}");
                let next = events[i..]
                    .iter()
                    .find(|h| h["type"] == "heartbeat")
                    .map(|h| h["played"].as_array().expect("played").clone());
                match next.as_deref() {
                    // Sought mid-interval: played up to the seek, then on from where it landed.
                    Some([before, after]) => {
                        assert_eq!(&before[1], from);
                        assert_eq!(&after[0], to);
                        split += 1;
                    }
                    Some([after]) => assert_eq!(&after[0], to),
                    Some(other) => panic!("unexpected ranges {other:?}"),
                    None => {}
                }
            }
        }
        assert!(
            split > 100 && seeks > split,
            "{split} split heartbeats, {seeks} seeks"
        );
    }

    #[test]
    fn a_seek_during_idle_time_keeps_the_view_whole_and_one_after_it_starts_the_next_view() {
        let dir = tempfile::tempdir().expect("temp dir");
        let generated = generate(&small_config(12, 80_000, 300), dir.path()).expect("generate");
        let mut truth: HashMap<&str, Vec<&TruthView>> = HashMap::new();
        for view in &generated.truth {
            truth.entry(&view.view_id).or_default().push(view);
        }
        let (mut bridging, mut starting) = (0, 0);
        const IDLE_MS: i64 = 30 * 60_000;
        for (view_id, events) in &events_by_view(dir.path()) {
            let ts: Vec<i64> = events.iter().filter_map(|e| e["ts"].as_i64()).collect();
            for i in 1..events.len() {
                if events[i]["type"] != "seek" {
                    continue;
                }
                let Some(views) = truth.get(view_id.as_str()) else {
                    continue; // a bot's
                };
                let after = ts.get(i + 1).map_or(0, |next| next - ts[i]);
                if ts[i] - ts[i - 1] <= IDLE_MS && ts[i] - ts[i - 1] + after > IDLE_MS {
                    // Without the seek the view would split here; with it, it is one view.
                    assert!(after <= IDLE_MS);
                    assert!(views.iter().all(|v| v.segment == 0), "{view_id}");
                    bridging += 1;
                } else if ts[i] - ts[i - 1] > IDLE_MS
                    && events[i + 1..].iter().any(|e| e["type"] == "heartbeat")
                {
                    // The seek is the first event of the resumed part, which played.
                    let resumed = views.iter().find(|v| v.segment == 1).expect("resumed view");
                    assert_eq!(resumed.started_ms, ts[i], "{view_id}");
                    starting += 1;
                }
            }
        }
        assert!(
            bridging > 5 && starting > 5,
            "{bridging} bridging, {starting} starting"
        );
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
