//! wasm-bindgen glue: the `Tapemetric` client and its `ViewHandle`s. Never throws into the host page:
//! every failure is logged to the console and the SDK goes on (in memory if storage is unavailable).
//!
//! Size matters here (every imported browser function costs wasm and generated JS), so the few
//! browser APIs used are declared below, called on their globals (`localStorage`, `navigator`,
//! `crypto`), and every callback is one closure type, `FnMut(JsValue)`.

use crate::delivery::{Outbox, MAX_BATCH_BYTES, REQUEST_TIMEOUT_MS, SEND_INTERVAL_MS};
use crate::event::{sends_at_once, Envelope};
use crate::json::{write_int, JsonObject};
use crate::session::{current_session, uuid_v4, Session};
use crate::tracker::{Draft, MediaSignal, ViewTracker};
use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use event_schema::EventType;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const ANONYMOUS_ID_KEY: &str = "tapemetric.anonymous_id";
const SESSION_KEY: &str = "tapemetric.session";
const QUEUE_KEY: &str = "tapemetric.queue";
const USER_ID_KEY: &str = "tapemetric.user_id";
const HEARTBEAT_INTERVAL_MS: i32 = 10_000;
const SEND_TICK_MS: i32 = 1_000;
const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8787";

/// A JS function that calls back into the SDK: listeners, timers, the fetch outcome. All are of one
/// closure type (one shim in the wasm), and all are owned by the JS garbage collector
/// (`into_js_value`): a callback lives while the browser holds it (a registered listener, a running
/// timer, a pending promise), even after its client or view handle is freed, so the browser never
/// calls a dropped closure.
type Callback = JsValue;

fn callback(f: impl FnMut(JsValue) + 'static) -> Callback {
    Closure::<dyn FnMut(JsValue)>::new(f).into_js_value()
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console)]
    fn warn(message: &str);
    #[wasm_bindgen(js_namespace = Date)]
    fn now() -> f64;
    #[wasm_bindgen(js_namespace = Math)]
    fn random() -> f64;
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    fn get_random_values(bytes: &mut [u8]) -> Result<(), JsValue>;
    #[wasm_bindgen(js_namespace = Reflect, js_name = get, catch)]
    fn reflect_get(target: &JsValue, key: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = Reflect, js_name = set, catch)]
    fn reflect_set(target: &JsValue, key: &str, value: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(js_namespace = JSON, js_name = stringify, catch)]
    fn json_stringify(value: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = encodeURIComponent)]
    fn encode_uri_component(text: &str) -> JsValue;
    /// A new empty object (`Object()`).
    #[wasm_bindgen(js_name = Object)]
    fn new_object() -> JsValue;

    #[wasm_bindgen(js_namespace = localStorage, js_name = getItem, catch)]
    fn storage_get(key: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = localStorage, js_name = setItem, catch)]
    fn storage_set(key: &str, value: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(js_namespace = localStorage, js_name = removeItem, catch)]
    fn storage_remove(key: &str) -> Result<(), JsValue>;

    /// `location.href` (a `Location`'s string form).
    #[wasm_bindgen(js_namespace = location, js_name = toString)]
    fn location_href() -> JsValue;
    /// The page's `document`.
    #[wasm_bindgen(js_name = document)]
    type Document;
    #[wasm_bindgen(static_method_of = Document, getter, catch)]
    fn referrer() -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_name = setInterval)]
    fn set_interval(callback: &Callback, ms: i32) -> i32;
    #[wasm_bindgen(js_name = clearInterval)]
    fn clear_interval(id: i32);
    /// `window.addEventListener`.
    #[wasm_bindgen(js_name = addEventListener)]
    fn add_window_listener(name: &str, callback: &Callback);
    /// `window.removeEventListener`.
    #[wasm_bindgen(js_name = removeEventListener)]
    fn remove_window_listener(name: &str, callback: &Callback);

    #[wasm_bindgen(catch)]
    fn fetch(url: &str, init: &JsValue) -> Result<Promise, JsValue>;
    type Promise;
    #[wasm_bindgen(method)]
    fn then(this: &Promise, on_fulfilled: &Callback, on_rejected: &Callback) -> Promise;
    /// `AbortSignal.timeout(ms)`: aborts a request still unanswered after `ms` (absent in old
    /// browsers: then requests have no timeout).
    #[wasm_bindgen(js_namespace = AbortSignal, js_name = timeout, catch)]
    fn abort_after(ms: f64) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = navigator, js_name = sendBeacon, catch)]
    fn send_beacon(url: &str, body: &str) -> Result<bool, JsValue>;

    /// A `<video>` or `<audio>` element (its properties are read with [`property`]: one import
    /// for all of them).
    #[wasm_bindgen(js_name = HTMLMediaElement)]
    type Media;
    #[wasm_bindgen(method, js_name = addEventListener)]
    fn add_listener(this: &Media, name: &str, callback: &Callback);
    #[wasm_bindgen(method, js_name = removeEventListener)]
    fn remove_listener(this: &Media, name: &str, callback: &Callback);
}

fn log(message: &str) {
    let mut line = String::from("tapemetric: ");
    line.push_str(message);
    warn(&line);
}

/// `object[key]`, or `undefined` when `object` has no properties (`null`, `undefined`).
fn property(object: &JsValue, key: &str) -> JsValue {
    reflect_get(object, key).unwrap_or(JsValue::UNDEFINED)
}

/// A numeric property (`NaN` when absent or not a number).
fn number(object: &JsValue, key: &str) -> f64 {
    property(object, key).as_f64().unwrap_or(f64::NAN)
}

/// `value` as JSON object text, when it is a plain object that `JSON.stringify` can write.
fn props_json(value: &JsValue) -> Option<String> {
    json_stringify(value)
        .ok()?
        .as_string()
        .filter(|text| text.starts_with('{'))
}

fn random_uuid() -> String {
    let mut bytes = [0u8; 16];
    if get_random_values(&mut bytes).is_err() {
        for b in bytes.iter_mut() {
            *b = (random() * 256.0) as u8;
        }
    }
    uuid_v4(bytes)
}

/// Key-value state kept in localStorage, or in memory when storage is unavailable.
#[derive(Default)]
struct Persisted {
    /// The in-memory fallback: a handful of keys, so a plain list.
    memory: Vec<(String, String)>,
}

impl Persisted {
    fn get(&self, key: &str) -> Option<String> {
        storage_get(key)
            .ok()
            .and_then(|v| v.as_string())
            .or_else(|| {
                self.memory
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            })
    }

    fn set(&mut self, key: &str, value: &str) {
        if storage_set(key, value).is_err() {
            self.memory.retain(|(k, _)| k != key);
            self.memory.push((String::from(key), String::from(value)));
        }
    }

    fn remove(&mut self, key: &str) {
        let _ = storage_remove(key);
        self.memory.retain(|(k, _)| k != key);
    }
}

/// The content fields of a view (`content_id`, ...), from the page's camelCase options.
fn content_fields(options: &JsValue) -> JsonObject {
    let mut fields = JsonObject::new();
    for (js_name, field) in [
        ("contentId", "content_id"),
        ("contentType", "content_type"),
        ("contentTitle", "content_title"),
        ("season", "season"),
        ("episode", "episode"),
        ("playerName", "player_name"),
        ("playerVersion", "player_version"),
    ] {
        let value = property(options, js_name);
        if let Some(s) = value.as_string() {
            fields.str(field, &s);
        } else if let Some(n) = value.as_f64() {
            fields.int(field, n as i64);
        }
    }
    fields
}

struct Core {
    api_key: String,
    endpoint: String,
    persisted: Persisted,
    outbox: Outbox,
    /// Send at the next tick: an event wants its batch out (`view_start`, `error`, `ended`,
    /// `view_end`), a backlog is going out, or the network is back.
    send_soon: bool,
    /// Settles the request in flight (its response, or the network failure).
    on_response: Callback,
}

impl Core {
    fn anonymous_id(&mut self) -> String {
        if let Some(id) = self.persisted.get(ANONYMOUS_ID_KEY) {
            return id;
        }
        let id = random_uuid();
        self.persisted.set(ANONYMOUS_ID_KEY, &id);
        id
    }

    fn session_id(&mut self) -> String {
        let stored = self
            .persisted
            .get(SESSION_KEY)
            .and_then(|s| Session::parse(&s));
        let session = current_session(stored, now(), random_uuid);
        self.persisted.set(SESSION_KEY, &session.to_stored());
        session.id
    }

    /// Completes an event's `fields` with ids, time and page, and queues it. `page_url` and
    /// `user_id` default to the current page and the identified user.
    fn record(
        &mut self,
        event_type: EventType,
        fields: &JsonObject,
        page_url: Option<String>,
        user_id: Option<String>,
    ) {
        let eid = random_uuid();
        let anonymous_id = self.anonymous_id();
        let session_id = self.session_id();
        let user_id = user_id.or_else(|| self.persisted.get(USER_ID_KEY));
        let page_url = page_url.or_else(|| location_href().as_string());
        let event = Envelope {
            event_type,
            ts_ms: now() as i64,
            eid: &eid,
            anonymous_id: &anonymous_id,
            session_id: &session_id,
            user_id: user_id.as_deref(),
            page_url: page_url.as_deref().unwrap_or_default(),
        };
        self.outbox.push(event.write(fields));
        self.persist_queue();
        self.send_soon |= sends_at_once(event_type);
    }

    fn persist_queue(&mut self) {
        let queue = self.outbox.to_json();
        self.persisted.set(QUEUE_KEY, &queue);
    }

    fn events_url(&self) -> String {
        let mut url = self.endpoint.clone();
        url.push_str("/v1/events");
        url
    }

    /// Sends the next batch, if one is due; `on_response` settles it.
    fn send_batch(&mut self) {
        let Some(body) = self.outbox.take_batch(now()) else {
            return;
        };
        let mut authorization = String::from("Bearer ");
        authorization.push_str(&self.api_key);
        let headers = new_object();
        let init = new_object();
        let _ = reflect_set(&headers, "Authorization", &JsValue::from(authorization));
        let _ = reflect_set(&headers, "Content-Type", &"application/json".into());
        let _ = reflect_set(&init, "method", &"POST".into());
        let keepalive = body.len() <= MAX_BATCH_BYTES + 64;
        let _ = reflect_set(&init, "body", &JsValue::from(body));
        // `keepalive` lets the request finish when the page goes away; its budget is 64 KiB in
        // flight, which batches stay under (a lone bigger event goes without it).
        if keepalive {
            let _ = reflect_set(&init, "keepalive", &JsValue::TRUE);
        }
        let _ = reflect_set(&init, "headers", &headers);
        if let Ok(signal) = abort_after(REQUEST_TIMEOUT_MS) {
            let _ = reflect_set(&init, "signal", &signal);
        }
        match fetch(&self.events_url(), &init) {
            Ok(request) => {
                let _ = request.then(&self.on_response, &self.on_response);
            }
            Err(_) => self.outbox.fail(now()),
        }
    }

    /// The request in flight settled with `outcome`: a `Response`, or the network error.
    fn settle(&mut self, outcome: &JsValue) {
        match property(outcome, "status").as_f64() {
            Some(status) if (200.0..300.0).contains(&status) => {
                self.outbox.acknowledge();
                // A backlog (after an outage) goes out a batch a tick, not one every 5 s.
                self.send_soon |= !self.outbox.is_empty();
            }
            // 4xx other than 429 will not get better by retrying: drop the batch (logged).
            Some(status) if (400.0..500.0).contains(&status) && status != 429.0 => {
                let mut message = String::from("the edge refused a batch (");
                write_int(&mut message, status as i64);
                message.push_str("); dropping it");
                log(&message);
                self.outbox.acknowledge();
            }
            _ => self.outbox.fail(now()),
        }
        self.persist_queue();
    }

    /// Last chance on page hide: `sendBeacon` what is queued (kept in storage too, for the next load).
    fn beacon(&self) {
        if let Some(body) = self.outbox.peek_batch() {
            let mut url = self.events_url();
            url.push_str("?key=");
            let key = encode_uri_component(&self.api_key).as_string();
            url.push_str(key.as_deref().unwrap_or_default());
            let _ = send_beacon(&url, &body);
        }
    }
}

/// The SDK client: `Tapemetric.init({ apiKey, endpoint })`.
#[wasm_bindgen]
pub struct Tapemetric {
    core: Rc<RefCell<Core>>,
    /// The send timer's id.
    timer: i32,
    page_hide: Callback,
    /// The browser's `online` event: the network is back, send without waiting out the backoff.
    online: Callback,
}

impl Drop for Tapemetric {
    /// Stops the send timer and the page-hide beacon (unsent events stay in storage for the next load).
    fn drop(&mut self) {
        clear_interval(self.timer);
        remove_window_listener("pagehide", &self.page_hide);
        remove_window_listener("online", &self.online);
    }
}

#[wasm_bindgen]
impl Tapemetric {
    /// Starts the SDK: restores unsent events, sends every 5 s (at once when the network comes back),
    /// and beacons on page hide.
    pub fn init(options: JsValue) -> Tapemetric {
        let api_key = property(&options, "apiKey").as_string().unwrap_or_default();
        if api_key.is_empty() {
            log("init: `apiKey` is missing; events will be refused by the edge");
        }
        let mut endpoint = property(&options, "endpoint")
            .as_string()
            .unwrap_or_else(|| String::from(DEFAULT_ENDPOINT));
        while endpoint.ends_with('/') {
            endpoint.pop();
        }
        let persisted = Persisted::default();
        let mut outbox = Outbox::default();
        if let Some(saved) = persisted.get(QUEUE_KEY) {
            outbox.restore(&saved);
        }
        let core = Rc::new_cyclic(|weak: &Weak<RefCell<Core>>| {
            let weak = weak.clone();
            let on_response = callback(move |outcome: JsValue| {
                if let Some(core) = weak.upgrade() {
                    if let Ok(mut c) = core.try_borrow_mut() {
                        c.settle(&outcome);
                    }
                }
            });
            RefCell::new(Core {
                api_key,
                endpoint,
                persisted,
                outbox,
                send_soon: false,
                on_response,
            })
        });

        let tick_core = core.clone();
        let mut since_send_ms = 0.0;
        let tick = callback(move |_: JsValue| {
            let Ok(mut c) = tick_core.try_borrow_mut() else {
                return;
            };
            since_send_ms += f64::from(SEND_TICK_MS);
            if since_send_ms >= SEND_INTERVAL_MS || c.send_soon {
                since_send_ms = 0.0;
                c.send_soon = false;
                c.send_batch();
            }
        });
        let timer = set_interval(&tick, SEND_TICK_MS);

        let hide_core = core.clone();
        let page_hide = callback(move |_: JsValue| {
            if let Ok(c) = hide_core.try_borrow() {
                c.beacon();
            }
        });
        add_window_listener("pagehide", &page_hide);
        let online_core = core.clone();
        let online = callback(move |_: JsValue| {
            if let Ok(mut c) = online_core.try_borrow_mut() {
                c.outbox.retry_now();
                c.send_soon = true;
            }
        });
        add_window_listener("online", &online);
        let client = Tapemetric {
            core,
            timer,
            page_hide,
            online,
        };
        client.with_core(Core::send_batch);
        client
    }

    /// Attaches to a `<video>` (or `<audio>`) element; returns the view handle.
    pub fn attach(&self, element: JsValue, options: JsValue) -> Option<ViewHandle> {
        let Ok(media) = element.dyn_into::<Media>() else {
            log("attach: the first argument must be a <video> or <audio> element");
            return None;
        };
        Some(ViewHandle::start(
            self.core.clone(),
            media,
            content_fields(&options),
        ))
    }

    /// Links this browser's anonymous id to `userId`.
    pub fn identify(&self, user_id: String, traits: JsValue) {
        let mut fields = JsonObject::new();
        if let Some(props) = props_json(&traits) {
            fields.raw("props", &props);
        }
        self.with_core(|c| {
            c.persisted.set(USER_ID_KEY, &user_id);
            c.record(EventType::Identify, &fields, None, Some(user_id));
        });
    }

    /// Forgets the user and the anonymous id: the next event starts a fresh identity and session.
    pub fn reset(&self) {
        self.with_core(|c| {
            for key in [ANONYMOUS_ID_KEY, SESSION_KEY, USER_ID_KEY] {
                c.persisted.remove(key);
            }
        });
    }

    /// Records a page view (`path` defaults to the current location).
    #[wasm_bindgen(js_name = trackPageView)]
    pub fn track_page_view(&self, path: Option<String>) {
        let mut fields = JsonObject::new();
        let referrer = Document::referrer().ok().and_then(|r| r.as_string());
        if let Some(referrer) = referrer.filter(|r| !r.is_empty()) {
            fields.str("referrer", &referrer);
        }
        self.with_core(|c| c.record(EventType::PageView, &fields, path, None));
    }

    /// Records a named custom event with props.
    pub fn track(&self, name: String, props: JsValue) {
        let mut fields = JsonObject::new();
        fields.str("name", &name);
        if let Some(props) = props_json(&props) {
            fields.raw("props", &props);
        }
        self.with_core(|c| c.record(EventType::Custom, &fields, None, None));
    }

    /// Sends queued events now.
    pub fn flush(&self) {
        self.with_core(Core::send_batch);
    }

    /// Events waiting to be delivered.
    #[wasm_bindgen(js_name = pendingEvents)]
    pub fn pending_events(&self) -> usize {
        self.core.try_borrow().map_or(0, |c| c.outbox.len())
    }
}

impl Tapemetric {
    /// Runs `f` on the client's state, unless it is busy (a re-entrant call from the page while the
    /// SDK is working: dropped rather than panicking into the page).
    fn with_core(&self, f: impl FnOnce(&mut Core)) {
        if let Ok(mut c) = self.core.try_borrow_mut() {
            f(&mut c);
        }
    }
}

struct ViewState {
    core: Rc<RefCell<Core>>,
    media: Media,
    tracker: ViewTracker,
    content: JsonObject,
}

impl ViewState {
    fn feed(&mut self, signal: MediaSignal) {
        let position = number(&self.media, "currentTime");
        let mut new_id = random_uuid;
        let drafts = self.tracker.on(signal, position, now(), &mut new_id);
        self.emit(drafts);
    }

    fn emit(&mut self, drafts: Vec<Draft>) {
        let duration_s = number(&self.media, "duration");
        let Ok(mut core) = self.core.try_borrow_mut() else {
            return;
        };
        for draft in drafts {
            let mut fields = JsonObject::new();
            draft.write_fields(&mut fields);
            fields.extend(&self.content);
            if duration_s.is_finite() && duration_s > 0.0 {
                fields.num("duration_s", duration_s);
            }
            core.record(draft.event_type, &fields, None, None);
        }
    }

    fn end_view(&mut self) {
        let drafts = self
            .tracker
            .end_view(number(&self.media, "currentTime"), now());
        self.emit(drafts);
    }

    /// The media signal of a DOM event.
    fn signal(&self, event: &str) -> MediaSignal {
        match event {
            "play" => MediaSignal::Play,
            "timeupdate" => MediaSignal::TimeUpdate,
            "pause" => MediaSignal::Pause,
            "waiting" => MediaSignal::Waiting,
            "playing" => MediaSignal::Playing,
            "seeking" => MediaSignal::Seeking,
            "seeked" => MediaSignal::Seeked,
            "ended" => MediaSignal::Ended,
            // `<audio>` has no video size: 0 x 0, which is no quality change.
            "resize" => MediaSignal::Resize {
                width: number(&self.media, "videoWidth") as u32,
                height: number(&self.media, "videoHeight") as u32,
            },
            _ => {
                let error = property(&self.media, "error");
                let code = number(&error, "code");
                let mut code_text = String::new();
                if code.is_nan() {
                    code_text.push_str("unknown");
                } else {
                    write_int(&mut code_text, code as i64);
                }
                MediaSignal::Error {
                    code: code_text,
                    message: property(&error, "message").as_string().unwrap_or_default(),
                }
            }
        }
    }
}

const MEDIA_EVENTS: [&str; 10] = [
    "play",
    "timeupdate",
    "pause",
    "waiting",
    "playing",
    "seeking",
    "seeked",
    "ended",
    "resize",
    "error",
];

/// A `<video>` being measured: `setContent(...)` starts a new view, `detach()` stops. Freeing the
/// handle (or losing it to the garbage collector) does not stop the measuring: only `detach()` does.
#[wasm_bindgen]
pub struct ViewHandle {
    state: Rc<RefCell<ViewState>>,
    /// One listener per entry of [`MEDIA_EVENTS`].
    listeners: Vec<Callback>,
    /// The heartbeat timer's id.
    heartbeat: i32,
    page_hide: Callback,
}

impl ViewHandle {
    fn start(core: Rc<RefCell<Core>>, media: Media, content: JsonObject) -> ViewHandle {
        let state = Rc::new(RefCell::new(ViewState {
            core,
            media: media.clone().unchecked_into(),
            tracker: ViewTracker::default(),
            content,
        }));
        let listen = |event: &'static str| {
            let state = state.clone();
            callback(move |_: JsValue| {
                let Ok(mut s) = state.try_borrow_mut() else {
                    return;
                };
                let signal = s.signal(event);
                s.feed(signal);
            })
        };
        let listeners: Vec<Callback> = MEDIA_EVENTS.iter().map(|&event| listen(event)).collect();
        for (event, listener) in MEDIA_EVENTS.iter().zip(&listeners) {
            media.add_listener(event, listener);
        }
        let beat_state = state.clone();
        let beat = callback(move |_: JsValue| {
            if let Ok(mut s) = beat_state.try_borrow_mut() {
                s.feed(MediaSignal::Heartbeat);
            }
        });
        let heartbeat = set_interval(&beat, HEARTBEAT_INTERVAL_MS);
        let hide_state = state.clone();
        let page_hide = callback(move |_: JsValue| {
            if let Ok(mut s) = hide_state.try_borrow_mut() {
                s.end_view();
            }
        });
        // Registered after the client's own page-hide beacon, so the view's end is in the next load's queue.
        add_window_listener("pagehide", &page_hide);
        ViewHandle {
            state,
            listeners,
            heartbeat,
            page_hide,
        }
    }
}

#[wasm_bindgen]
impl ViewHandle {
    /// New content on the same element: ends the current view; the next play starts a new one.
    #[wasm_bindgen(js_name = setContent)]
    pub fn set_content(&self, options: JsValue) {
        if let Ok(mut s) = self.state.try_borrow_mut() {
            s.end_view();
            s.content = content_fields(&options);
        }
    }

    /// The current view id, if a view is open.
    #[wasm_bindgen(js_name = viewId)]
    pub fn view_id(&self) -> Option<String> {
        self.state
            .try_borrow()
            .ok()?
            .tracker
            .view_id()
            .map(String::from)
    }

    /// Ends the view and stops listening to the element.
    pub fn detach(&mut self) {
        let Ok(mut s) = self.state.try_borrow_mut() else {
            return;
        };
        s.end_view();
        for (event, listener) in MEDIA_EVENTS.iter().zip(&self.listeners) {
            s.media.remove_listener(event, listener);
        }
        clear_interval(self.heartbeat);
        remove_window_listener("pagehide", &self.page_hide);
    }
}
