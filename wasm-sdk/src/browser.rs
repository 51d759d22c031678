//! wasm-bindgen glue: the `Tapemetric` client and its `ViewHandle`s, over web-sys. Never throws into
//! the host page: every failure is logged to the console and the SDK goes on (in memory if storage is
//! unavailable).

use crate::delivery::{Outbox, SEND_INTERVAL_MS};
use crate::session::{current_session, uuid_v4, Session};
use crate::tracker::{Draft, MediaSignal, ViewTracker};
use event_schema::EventType;
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlMediaElement, RequestInit, Storage};

const ANONYMOUS_ID_KEY: &str = "tapemetric.anonymous_id";
const SESSION_KEY: &str = "tapemetric.session";
const QUEUE_KEY: &str = "tapemetric.queue";
const USER_ID_KEY: &str = "tapemetric.user_id";
const HEARTBEAT_INTERVAL_MS: i32 = 10_000;
const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8787";

fn log(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(&format!("tapemetric: {message}")));
}

/// JSON text through the browser's own `JSON.stringify`: keeps serde_json's text writer (and float
/// formatting) out of the shipped wasm.
fn stringify(value: &Value) -> String {
    js_sys::JSON::stringify(&to_js(value))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "null".into())
}

/// JSON text through the browser's `JSON.parse` (garbage gives `null`).
fn parse(text: &str) -> Value {
    js_sys::JSON::parse(text).map_or(Value::Null, |v| from_js(&v))
}

fn to_js(value: &Value) -> JsValue {
    match value {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Number(n) => JsValue::from_f64(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JsValue::from_str(s),
        Value::Array(items) => items.iter().map(to_js).collect::<js_sys::Array>().into(),
        Value::Object(map) => {
            let object = js_sys::Object::new();
            for (k, v) in map {
                let _ = js_sys::Reflect::set(&object, &JsValue::from_str(k), &to_js(v));
            }
            object.into()
        }
    }
}

fn from_js(value: &JsValue) -> Value {
    if let Some(b) = value.as_bool() {
        Value::Bool(b)
    } else if let Some(n) = value.as_f64() {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    } else if let Some(s) = value.as_string() {
        Value::String(s)
    } else if js_sys::Array::is_array(value) {
        Value::Array(
            js_sys::Array::from(value)
                .iter()
                .map(|v| from_js(&v))
                .collect(),
        )
    } else if value.is_object() {
        let entries = js_sys::Object::entries(value.unchecked_ref());
        let map = entries
            .iter()
            .filter_map(|pair| {
                let pair = js_sys::Array::from(&pair);
                Some((pair.get(0).as_string()?, from_js(&pair.get(1))))
            })
            .collect();
        Value::Object(map)
    } else {
        Value::Null
    }
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn random_uuid() -> String {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(&mut bytes).ok())
        .is_some();
    if !filled {
        for b in bytes.iter_mut() {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    uuid_v4(bytes)
}

fn storage() -> Option<Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Key-value state kept in localStorage, or in memory when storage is unavailable.
#[derive(Default)]
struct Persisted {
    /// The in-memory fallback: a handful of keys, so a plain list (no hash map in the wasm).
    memory: Vec<(String, String)>,
}

impl Persisted {
    fn get(&self, key: &str) -> Option<String> {
        storage()
            .and_then(|s| s.get_item(key).ok().flatten())
            .or_else(|| {
                self.memory
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            })
    }

    fn set(&mut self, key: &str, value: &str) {
        let stored = storage().is_some_and(|s| s.set_item(key, value).is_ok());
        if !stored {
            self.memory.retain(|(k, _)| k != key);
            self.memory.push((key.to_string(), value.to_string()));
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some(s) = storage() {
            let _ = s.remove_item(key);
        }
        self.memory.retain(|(k, _)| k != key);
    }
}

/// Content attached to a view.
#[derive(Clone, Default)]
struct Content {
    fields: Map<String, Value>,
}

impl Content {
    fn from_js(options: &JsValue) -> Content {
        let mut fields = Map::new();
        for (js_name, field) in [
            ("contentId", "content_id"),
            ("contentType", "content_type"),
            ("contentTitle", "content_title"),
            ("season", "season"),
            ("episode", "episode"),
            ("playerName", "player_name"),
            ("playerVersion", "player_version"),
        ] {
            let value = js_sys::Reflect::get(options, &JsValue::from_str(js_name))
                .unwrap_or(JsValue::UNDEFINED);
            if let Some(s) = value.as_string() {
                fields.insert(field.into(), json!(s));
            } else if let Some(n) = value.as_f64() {
                fields.insert(field.into(), json!(n as i64));
            }
        }
        Content { fields }
    }
}

struct Core {
    api_key: String,
    endpoint: String,
    persisted: Persisted,
    outbox: Outbox,
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
        let session = current_session(stored, now_ms(), random_uuid);
        self.persisted.set(SESSION_KEY, &session.to_stored());
        session.id
    }

    /// Completes a draft with ids, time and page, and queues it.
    fn record(
        &mut self,
        event_type: EventType,
        mut fields: Map<String, Value>,
        content: Option<&Content>,
        duration_s: Option<f64>,
    ) {
        fields.insert("type".into(), json!(event_type.as_str()));
        fields.insert("ts".into(), json!(now_ms() as i64));
        fields.insert("eid".into(), json!(random_uuid()));
        fields.insert("anonymous_id".into(), json!(self.anonymous_id()));
        fields.insert("session_id".into(), json!(self.session_id()));
        if let Some(user_id) = self.persisted.get(USER_ID_KEY) {
            fields.entry("user_id").or_insert(json!(user_id));
        }
        if let Some(href) = web_sys::window().and_then(|w| w.location().href().ok()) {
            fields.entry("page_url").or_insert(json!(href));
        }
        if let Some(content) = content {
            for (k, v) in &content.fields {
                fields.entry(k.clone()).or_insert(v.clone());
            }
        }
        if let Some(d) = duration_s.filter(|d| d.is_finite() && *d > 0.0) {
            fields.insert("duration_s".into(), json!(d));
        }
        self.outbox.push(Value::Object(fields));
        self.persist_queue();
        if matches!(
            event_type,
            EventType::ViewStart | EventType::Error | EventType::Ended | EventType::ViewEnd
        ) {
            self.schedule_send_now();
        }
    }

    fn persist_queue(&mut self) {
        let queue = stringify(&Value::Array(self.outbox.events()));
        self.persisted.set(QUEUE_KEY, &queue);
    }

    fn schedule_send_now(&self) {
        // Sending needs `Rc<RefCell<Core>>`; the client's timer picks this up within one tick.
        SEND_SOON.with(|flag| flag.set(true));
    }
}

thread_local! {
    static SEND_SOON: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn send_batch(core: &Rc<RefCell<Core>>) {
    let (body, url, key) = {
        let mut c = core.borrow_mut();
        let Some(batch) = c.outbox.take_batch(now_ms()) else {
            return;
        };
        (
            stringify(&json!({ "events": batch })),
            format!("{}/v1/events", c.endpoint),
            c.api_key.clone(),
        )
    };
    let core = core.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let ok = post(&url, &key, &body).await;
        let mut c = core.borrow_mut();
        if ok {
            c.outbox.acknowledge();
        } else {
            c.outbox.fail(now_ms());
        }
        c.persist_queue();
    });
}

async fn post(url: &str, key: &str, body: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    // `keepalive` lets the request finish when the page goes away (not in web-sys' stable API).
    let _ = js_sys::Reflect::set(&init, &JsValue::from_str("keepalive"), &JsValue::TRUE);
    let Ok(headers) = web_sys::Headers::new() else {
        return false;
    };
    let _ = headers.set("Authorization", &format!("Bearer {key}"));
    let _ = headers.set("Content-Type", "application/json");
    init.set_headers(&headers);
    let Ok(request) = web_sys::Request::new_with_str_and_init(url, &init) else {
        return false;
    };
    match wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request)).await {
        Ok(response) => {
            let response: web_sys::Response = response.unchecked_into();
            // 4xx other than 429 will not get better by retrying: drop the batch (logged).
            let status = response.status();
            if (400..500).contains(&status) && status != 429 {
                log(&format!("the edge refused a batch ({status}); dropping it"));
                return true;
            }
            response.ok()
        }
        Err(_) => false,
    }
}

/// Last chance on page hide: `sendBeacon` what is queued (kept in storage too, for the next load).
fn beacon(core: &Rc<RefCell<Core>>) {
    let c = core.borrow();
    let events = c.outbox.peek_all();
    if events.is_empty() {
        return;
    }
    let url = format!(
        "{}/v1/events?key={}",
        c.endpoint,
        js_sys::encode_uri_component(&c.api_key)
    );
    let body = stringify(&json!({ "events": events }));
    if let Some(window) = web_sys::window() {
        let _ = window
            .navigator()
            .send_beacon_with_opt_str(&url, Some(&body));
    }
}

/// The SDK client: `Tapemetric.init({ apiKey, endpoint })`.
#[wasm_bindgen]
pub struct Tapemetric {
    core: Rc<RefCell<Core>>,
    timer: Option<(i32, Closure<dyn FnMut()>)>,
    page_hide: Option<Closure<dyn FnMut()>>,
}

impl Drop for Tapemetric {
    /// Stops the send timer and the page-hide beacon (unsent events stay in storage for the next load).
    fn drop(&mut self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Some((id, _)) = self.timer.take() {
            window.clear_interval_with_handle(id);
        }
        if let Some(hide) = self.page_hide.take() {
            let _ = window
                .remove_event_listener_with_callback("pagehide", hide.as_ref().unchecked_ref());
        }
    }
}

#[wasm_bindgen]
impl Tapemetric {
    /// Starts the SDK: restores unsent events, sends every 5 s, and beacons on page hide.
    pub fn init(options: JsValue) -> Tapemetric {
        let get = |name: &str| {
            js_sys::Reflect::get(&options, &JsValue::from_str(name))
                .ok()
                .and_then(|v| v.as_string())
        };
        let api_key = get("apiKey").unwrap_or_default();
        if api_key.is_empty() {
            log("init: `apiKey` is missing; events will be refused by the edge");
        }
        let endpoint = get("endpoint").unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let mut core = Core {
            api_key,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            persisted: Persisted::default(),
            outbox: Outbox::default(),
        };
        if let Some(saved) = core.persisted.get(QUEUE_KEY) {
            if let Value::Array(events) = parse(&saved) {
                core.outbox.restore_events(events);
            }
        }
        let core = Rc::new(RefCell::new(core));
        let mut client = Tapemetric {
            core: core.clone(),
            timer: None,
            page_hide: None,
        };
        let Some(window) = web_sys::window() else {
            return client;
        };

        let timer_core = core.clone();
        let mut since_send = 0.0;
        let timer = Closure::<dyn FnMut()>::new(move || {
            since_send += 1_000.0;
            if since_send >= SEND_INTERVAL_MS || SEND_SOON.with(|f| f.replace(false)) {
                since_send = 0.0;
                send_batch(&timer_core);
            }
        });
        let id = window
            .set_interval_with_callback_and_timeout_and_arguments_0(
                timer.as_ref().unchecked_ref(),
                1_000,
            )
            .unwrap_or(0);
        client.timer = Some((id, timer));

        let hide_core = core.clone();
        let page_hide = Closure::<dyn FnMut()>::new(move || beacon(&hide_core));
        let _ =
            window.add_event_listener_with_callback("pagehide", page_hide.as_ref().unchecked_ref());
        client.page_hide = Some(page_hide);
        if !core.borrow().outbox.is_empty() {
            send_batch(&core);
        }
        client
    }

    /// Attaches to a `<video>` (or `<audio>`) element; returns the view handle.
    pub fn attach(&self, element: JsValue, options: JsValue) -> Option<ViewHandle> {
        let Ok(media) = element.dyn_into::<HtmlMediaElement>() else {
            log("attach: the first argument must be a <video> or <audio> element");
            return None;
        };
        ViewHandle::start(self.core.clone(), media, Content::from_js(&options))
    }

    /// Links this browser's anonymous id to `userId`.
    pub fn identify(&self, user_id: String, traits: JsValue) {
        let mut c = self.core.borrow_mut();
        c.persisted.set(USER_ID_KEY, &user_id);
        let mut fields = Map::new();
        fields.insert("user_id".into(), json!(user_id));
        if let Value::Object(props) = from_js(&traits) {
            fields.insert("props".into(), Value::Object(props));
        }
        c.record(EventType::Identify, fields, None, None);
    }

    /// Forgets the user and the anonymous id: the next event starts a fresh identity and session.
    pub fn reset(&self) {
        let mut c = self.core.borrow_mut();
        for key in [ANONYMOUS_ID_KEY, SESSION_KEY, USER_ID_KEY] {
            c.persisted.remove(key);
        }
    }

    /// Records a page view (`path` defaults to the current location).
    #[wasm_bindgen(js_name = trackPageView)]
    pub fn track_page_view(&self, path: Option<String>) {
        let mut fields = Map::new();
        if let Some(path) = path {
            fields.insert("page_url".into(), json!(path));
        }
        if let Some(referrer) = web_sys::window()
            .and_then(|w| w.document())
            .map(|d| d.referrer())
            .filter(|r| !r.is_empty())
        {
            fields.insert("referrer".into(), json!(referrer));
        }
        self.core
            .borrow_mut()
            .record(EventType::PageView, fields, None, None);
    }

    /// Records a named custom event with props.
    pub fn track(&self, name: String, props: JsValue) {
        let mut fields = Map::new();
        fields.insert("name".into(), json!(name));
        if let Value::Object(p) = from_js(&props) {
            fields.insert("props".into(), Value::Object(p));
        }
        self.core
            .borrow_mut()
            .record(EventType::Custom, fields, None, None);
    }

    /// Sends queued events now.
    pub fn flush(&self) {
        send_batch(&self.core);
    }

    /// Events waiting to be delivered.
    #[wasm_bindgen(js_name = pendingEvents)]
    pub fn pending_events(&self) -> usize {
        self.core.borrow().outbox.len()
    }
}

struct ViewState {
    core: Rc<RefCell<Core>>,
    media: HtmlMediaElement,
    tracker: ViewTracker,
    content: Content,
}

impl ViewState {
    fn feed(&mut self, signal: MediaSignal) {
        let position = self.media.current_time();
        let mut new_id = random_uuid;
        let drafts = self.tracker.on(signal, position, now_ms(), &mut new_id);
        self.emit(drafts);
    }

    fn emit(&mut self, drafts: Vec<Draft>) {
        let duration = self.media.duration();
        let mut core = self.core.borrow_mut();
        for draft in drafts {
            core.record(
                draft.event_type,
                draft.fields,
                Some(&self.content),
                Some(duration),
            );
        }
    }

    fn end_view(&mut self) {
        let drafts = self.tracker.end_view(self.media.current_time(), now_ms());
        self.emit(drafts);
    }
}

/// A media event listener kept alive while attached.
type EventListener = Closure<dyn FnMut(web_sys::Event)>;

/// A `<video>` being measured: `setContent(...)` starts a new view, `detach()` stops.
#[wasm_bindgen]
pub struct ViewHandle {
    state: Rc<RefCell<ViewState>>,
    listeners: Vec<(&'static str, EventListener)>,
    heartbeat: Option<(i32, Closure<dyn FnMut()>)>,
    page_hide: Option<Closure<dyn FnMut()>>,
}

impl ViewHandle {
    fn start(
        core: Rc<RefCell<Core>>,
        media: HtmlMediaElement,
        content: Content,
    ) -> Option<ViewHandle> {
        let state = Rc::new(RefCell::new(ViewState {
            core,
            media: media.clone(),
            tracker: ViewTracker::default(),
            content,
        }));
        let mut handle = ViewHandle {
            state: state.clone(),
            listeners: Vec::new(),
            heartbeat: None,
            page_hide: None,
        };
        for name in [
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
        ] {
            let listener_state = state.clone();
            let closure =
                Closure::<dyn FnMut(web_sys::Event)>::new(move |_event: web_sys::Event| {
                    let Ok(mut s) = listener_state.try_borrow_mut() else {
                        return;
                    };
                    let signal = match name {
                        "play" => MediaSignal::Play,
                        "timeupdate" => MediaSignal::TimeUpdate,
                        "pause" => MediaSignal::Pause,
                        "waiting" => MediaSignal::Waiting,
                        "playing" => MediaSignal::Playing,
                        "seeking" => MediaSignal::Seeking,
                        "seeked" => MediaSignal::Seeked,
                        "ended" => MediaSignal::Ended,
                        "resize" => match s.media.dyn_ref::<web_sys::HtmlVideoElement>() {
                            Some(video) => MediaSignal::Resize {
                                width: video.video_width(),
                                height: video.video_height(),
                            },
                            None => return,
                        },
                        _ => {
                            let (code, message) = s
                                .media
                                .error()
                                .map(|e| (e.code().to_string(), e.message()))
                                .unwrap_or_else(|| ("unknown".into(), String::new()));
                            MediaSignal::Error { code, message }
                        }
                    };
                    s.feed(signal);
                });
            if media
                .add_event_listener_with_callback(name, closure.as_ref().unchecked_ref())
                .is_err()
            {
                log(&format!("attach: could not listen to `{name}`"));
            }
            handle.listeners.push((name, closure));
        }
        let window = web_sys::window()?;
        let beat_state = state.clone();
        let beat = Closure::<dyn FnMut()>::new(move || {
            if let Ok(mut s) = beat_state.try_borrow_mut() {
                s.feed(MediaSignal::Heartbeat);
            }
        });
        let id = window
            .set_interval_with_callback_and_timeout_and_arguments_0(
                beat.as_ref().unchecked_ref(),
                HEARTBEAT_INTERVAL_MS,
            )
            .unwrap_or(0);
        handle.heartbeat = Some((id, beat));
        let hide_state = state.clone();
        let hide = Closure::<dyn FnMut()>::new(move || {
            if let Ok(mut s) = hide_state.try_borrow_mut() {
                s.end_view();
            }
        });
        // Registered after the client's own page-hide beacon, so the view's end is in the next load's queue.
        let _ = window.add_event_listener_with_callback("pagehide", hide.as_ref().unchecked_ref());
        handle.page_hide = Some(hide);
        Some(handle)
    }
}

#[wasm_bindgen]
impl ViewHandle {
    /// New content on the same element: ends the current view; the next play starts a new one.
    #[wasm_bindgen(js_name = setContent)]
    pub fn set_content(&self, options: JsValue) {
        if let Ok(mut s) = self.state.try_borrow_mut() {
            s.end_view();
            s.content = Content::from_js(&options);
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
            .map(str::to_string)
    }

    /// Ends the view and stops listening to the element.
    pub fn detach(&mut self) {
        if let Ok(mut s) = self.state.try_borrow_mut() {
            s.end_view();
        }
        let media = self.state.borrow().media.clone();
        for (name, closure) in self.listeners.drain(..) {
            let _ =
                media.remove_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        }
        if let Some(window) = web_sys::window() {
            if let Some((id, _)) = self.heartbeat.take() {
                window.clear_interval_with_handle(id);
            }
            if let Some(hide) = self.page_hide.take() {
                let _ = window
                    .remove_event_listener_with_callback("pagehide", hide.as_ref().unchecked_ref());
            }
        }
    }
}
