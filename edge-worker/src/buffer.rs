//! `EventBuffer`: a SQLite-backed Durable Object that holds acknowledged events until they are in R2.
//!
//! Each append is one row, written before the worker answers 2xx (a Durable Object's output gate holds
//! the answer until the write is durable). A flush (alarm at most `FLUSH_INTERVAL_S` after the first
//! pending row, a size cap, or `POST /internal/flush`) writes one gzip NDJSON object per tenant and only
//! then deletes that tenant's flushed rows, so a failed R2 write keeps the buffer and the alarm retries.
//! A crash between the R2 write and the delete writes the same events again in a later object: the
//! rollup server dedups by (`tenant_id`, `eid`), so nothing is counted twice.
//!
//! An R2 write that hangs is given up after `R2_WRITE_TIMEOUT_S` (default 30 s) and counts as a
//! failed write: the rows stay and a later flush writes them again. The abandoned write may still land;
//! its events are then in two objects, and the rollup server loads them once (as after a crash).

use crate::ingest;
use crate::rate_limit::{RateLimiter, DEFAULT_RATE_LIMIT_PER_MINUTE};
use event_schema::batch_key::BatchObjectKey;
use event_schema::key_policy::{
    origin_allowed, with_user_agent_string, KeyPolicies, KeyRestrictions,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;
use worker::wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::{future_to_promise, JsFuture};
use worker::*;

/// The Durable Object binding name in wrangler.toml.
pub const BUFFER_BINDING: &str = "EVENT_BUFFER";
/// Flush when this many events are pending.
const FLUSH_MAX_EVENTS: i64 = 20_000;
/// Flush when this many NDJSON bytes are pending.
const FLUSH_MAX_BYTES: i64 = 16 * 1024 * 1024;
/// Default longest wait between an append and its flush.
const DEFAULT_FLUSH_INTERVAL_S: u64 = 30;
/// Retry delay after a failed flush.
const RETRY_AFTER_FAILURE_S: u64 = 5;
/// Default longest wait for one R2 write (`R2_WRITE_TIMEOUT_S`). A healthy write of the largest batch
/// object (16 MiB of NDJSON, a few MiB gzipped) takes well under a few seconds; 30 s leaves room
/// for a slow R2 while keeping a hung write from holding the flush until the runtime's own limit (an
/// alarm may run for 15 minutes), and keeps `POST /internal/flush` (one timed-out write at most, as a
/// flush stops at its first failure) well inside the rollup server's 120 s edge timeout.
const DEFAULT_R2_WRITE_TIMEOUT_S: u64 = 30;

/// Body of `POST /append` from the worker.
#[derive(Debug, Serialize, Deserialize)]
pub struct AppendRequest {
    pub tenant_id: String,
    pub key_id: String,
    pub events: usize,
    pub ndjson: String,
    /// The request's origin (`Origin`, else the `Referer`'s), for keys bound to origins.
    pub origin: Option<String>,
    /// The full UA string; stored only if the key's tenant opted in.
    pub user_agent: Option<String>,
}

/// Status codes the buffer answers an append with, besides 200.
pub mod refusal {
    /// The key is revoked.
    pub const REVOKED: u16 = 403;
    /// The key does not accept this origin.
    pub const ORIGIN: u16 = 409;
    /// The key is over its rate limit; the body is the seconds to wait.
    pub const RATE_LIMITED: u16 = 429;
}

#[derive(Debug, Deserialize)]
struct PendingRow {
    seq: i64,
    tenant_id: String,
    events: i64,
    ndjson: String,
}

#[derive(Debug, Deserialize)]
struct Totals {
    events: i64,
    bytes: i64,
}

#[derive(Debug, Deserialize)]
struct PolicyRow {
    policy: String,
}

#[durable_object]
pub struct EventBuffer {
    state: State,
    env: Env,
    limiter: RefCell<RateLimiter>,
    /// Dev-only fault injection: how many coming R2 writes fail (set through `/faults`).
    injected_r2_failures: RefCell<u32>,
    /// Dev-only fault injection: how many coming flushes stop after their R2 write and before the
    /// buffer's rows are deleted (a crash mid-flush; set through `/faults`).
    injected_interruptions: RefCell<u32>,
    /// Dev-only fault injection: how many coming R2 writes are slow, and by how long (a write that
    /// outlasts the write timeout and lands later; set through `/faults`).
    injected_slow_writes: RefCell<(u32, Duration)>,
}

impl DurableObject for EventBuffer {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        for ddl in [
            "CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, \
             tenant_id TEXT NOT NULL, events INTEGER NOT NULL, bytes INTEGER NOT NULL, ndjson TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS revoked (key_id TEXT PRIMARY KEY)",
            "CREATE TABLE IF NOT EXISTS key_restrictions (key_id TEXT PRIMARY KEY, policy TEXT NOT NULL)",
        ] {
            if let Err(e) = sql.exec(ddl, None) {
                console_error!("buffer schema: {e}");
            }
        }
        EventBuffer {
            state,
            env,
            limiter: RefCell::new(RateLimiter::default()),
            injected_r2_failures: RefCell::new(0),
            injected_interruptions: RefCell::new(0),
            injected_slow_writes: RefCell::new((0, Duration::ZERO)),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match req.path().as_str() {
            "/append" => {
                let append: AppendRequest = req.json().await?;
                self.append(append).await
            }
            "/flush" => match self.flush().await {
                Ok((objects, events)) => {
                    Response::from_json(&json!({"objects": objects, "events": events}))
                }
                Err(e) => Response::error(format!("flush failed: {e}"), 503),
            },
            "/key-policies" => {
                let Ok(policies) = req.json::<KeyPolicies>().await else {
                    return Response::error("expected {\"revoked\":[...],\"keys\":[...]}", 400);
                };
                self.set_policies(&policies)?;
                Response::from_json(
                    &json!({"revoked": policies.revoked.len(), "keys": policies.keys.len()}),
                )
            }
            "/faults" => {
                let faults: serde_json::Value = req.json().await?;
                let failures = faults["r2_write_failures"].as_u64().unwrap_or(0) as u32;
                let interruptions = faults["interrupted_flushes"].as_u64().unwrap_or(0) as u32;
                let slow_writes = faults["r2_write_delays"].as_u64().unwrap_or(0) as u32;
                let delay_ms = faults["r2_delay_ms"].as_u64().unwrap_or(0);
                *self.injected_r2_failures.borrow_mut() = failures;
                *self.injected_interruptions.borrow_mut() = interruptions;
                *self.injected_slow_writes.borrow_mut() =
                    (slow_writes, Duration::from_millis(delay_ms));
                Response::from_json(&json!({
                    "r2_write_failures": failures,
                    "interrupted_flushes": interruptions,
                    "r2_write_delays": slow_writes,
                    "r2_delay_ms": delay_ms
                }))
            }
            other => Response::error(format!("no buffer route {other}"), 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        match self.flush().await {
            Ok(_) => Response::ok("flushed"),
            Err(e) => {
                console_error!("alarm flush failed, retrying in {RETRY_AFTER_FAILURE_S}s: {e}");
                self.state
                    .storage()
                    .set_alarm(Duration::from_secs(RETRY_AFTER_FAILURE_S))
                    .await?;
                Response::ok("retry scheduled")
            }
        }
    }
}

impl EventBuffer {
    /// The var `name` in seconds (a positive whole number), else `default_s`.
    fn seconds_var(&self, name: &str, default_s: u64) -> Duration {
        let seconds = self
            .env
            .var(name)
            .ok()
            .and_then(|v| v.to_string().parse().ok())
            .filter(|&s| s > 0)
            .unwrap_or(default_s);
        Duration::from_secs(seconds)
    }

    fn flush_interval(&self) -> Duration {
        self.seconds_var("FLUSH_INTERVAL_S", DEFAULT_FLUSH_INTERVAL_S)
    }

    fn r2_write_timeout(&self) -> Duration {
        self.seconds_var("R2_WRITE_TIMEOUT_S", DEFAULT_R2_WRITE_TIMEOUT_S)
    }

    /// Writes one batch object, waiting at most the write timeout. The write runs as its own task, so
    /// giving up on it does not cancel it (nor could it cancel R2's side): it may still land, and its
    /// events are then also in the object a later flush writes.
    async fn write_object(&self, key: &BatchObjectKey, body: Vec<u8>) -> Result<()> {
        let bucket = self.env.bucket("EVENTS")?;
        let key = key.as_str().to_string();
        let slow_by = {
            let mut slow = self.injected_slow_writes.borrow_mut();
            (slow.0 > 0).then(|| {
                slow.0 -= 1;
                slow.1
            })
        };
        let write = future_to_promise(async move {
            if let Some(delay) = slow_by {
                // Dev fault injection only: R2 answering late.
                Delay::from(delay).await;
            }
            bucket
                .put(&key, body)
                .http_metadata(HttpMetadata {
                    content_type: Some("application/x-ndjson".into()),
                    content_encoding: Some("gzip".into()),
                    ..Default::default()
                })
                .execute()
                .await
                .map(|_| JsValue::UNDEFINED)
                .map_err(|e| JsValue::from_str(&e.to_string()))
        });
        let timeout = self.r2_write_timeout();
        match within(JsFuture::from(write), timeout).await {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(Error::RustError(format!(
                "R2 write failed: {}",
                e.as_string().unwrap_or_default()
            ))),
            None => Err(Error::RustError(format!(
                "R2 write timed out after {} s (the events stay buffered)",
                timeout.as_secs()
            ))),
        }
    }

    async fn append(&self, append: AppendRequest) -> Result<Response> {
        let sql = self.state.storage().sql();
        let revoked = sql
            .exec(
                "SELECT key_id FROM revoked WHERE key_id = ?",
                vec![append.key_id.clone().into()],
            )?
            .raw()
            .next()
            .is_some();
        if revoked {
            return Response::error("API key has been revoked", refusal::REVOKED);
        }
        let restrictions = self.restrictions(&append.key_id)?;
        if !origin_allowed(
            &restrictions.rules.allowed_origins,
            append.origin.as_deref(),
        ) {
            return Response::error("origin not allowed for this key", refusal::ORIGIN);
        }
        let per_minute = restrictions
            .rules
            .rate_limit_per_minute
            .or_else(|| {
                self.env
                    .var("RATE_LIMIT_PER_MINUTE")
                    .ok()
                    .and_then(|v| v.to_string().parse().ok())
            })
            .unwrap_or(DEFAULT_RATE_LIMIT_PER_MINUTE);
        let now_ms = Date::now().as_millis() as f64;
        if let Err(wait_s) = self
            .limiter
            .borrow_mut()
            .check(&append.key_id, per_minute, now_ms)
        {
            return Ok(Response::ok(wait_s.to_string())?.with_status(refusal::RATE_LIMITED));
        }
        let ndjson = match (&append.user_agent, restrictions.rules.store_user_agent) {
            (Some(ua), true) => with_user_agent_string(&append.ndjson, ua),
            _ => append.ndjson,
        };
        sql.exec(
            "INSERT INTO pending (tenant_id, events, bytes, ndjson) VALUES (?, ?, ?, ?)",
            vec![
                append.tenant_id.into(),
                (append.events as i64).into(),
                (ndjson.len() as i64).into(),
                ndjson.into(),
            ],
        )?;
        let totals: Totals = sql
            .exec(
                "SELECT COALESCE(SUM(events), 0) AS events, COALESCE(SUM(bytes), 0) AS bytes FROM pending",
                None,
            )?
            .one()?;
        let storage = self.state.storage();
        if totals.events >= FLUSH_MAX_EVENTS || totals.bytes >= FLUSH_MAX_BYTES {
            // Flush soon, but not on this request: its answer only waits for durability.
            storage.set_alarm(Duration::from_millis(1)).await?;
        } else if storage.get_alarm().await?.is_none() {
            storage.set_alarm(self.flush_interval()).await?;
        }
        Response::ok("buffered")
    }

    /// Writes every pending row to R2, one object per tenant; returns (objects, events) written.
    async fn flush(&self) -> Result<(u64, u64)> {
        let sql = self.state.storage().sql();
        let rows: Vec<PendingRow> = sql
            .exec(
                "SELECT seq, tenant_id, events, ndjson FROM pending ORDER BY seq",
                None,
            )?
            .to_array()?;
        let mut by_tenant: BTreeMap<String, (i64, i64, String)> = BTreeMap::new();
        for row in rows {
            let entry = by_tenant.entry(row.tenant_id).or_default();
            entry.0 = entry.0.max(row.seq);
            entry.1 += row.events;
            entry.2.push_str(&row.ndjson);
        }
        let (mut objects, mut events) = (0, 0);
        for (tenant_id, (max_seq, count, ndjson)) in by_tenant {
            let mut random = [0u8; 10];
            let _ = getrandom::getrandom(&mut random);
            let key = BatchObjectKey::new(&tenant_id, Date::now().as_millis() as i64, random);
            let body = ingest::gzip(ndjson.as_bytes());
            {
                let mut failures = self.injected_r2_failures.borrow_mut();
                if *failures > 0 {
                    *failures -= 1;
                    return Err(Error::RustError(
                        "injected R2 write failure (dev fault injection)".into(),
                    ));
                }
            }
            self.write_object(&key, body).await?;
            {
                let mut interruptions = self.injected_interruptions.borrow_mut();
                if *interruptions > 0 {
                    *interruptions -= 1;
                    return Err(Error::RustError(
                        "injected interruption after the R2 write (dev fault injection)".into(),
                    ));
                }
            }
            // Only rows that are now in R2 are removed; rows appended meanwhile have a higher seq.
            sql.exec(
                "DELETE FROM pending WHERE tenant_id = ? AND seq <= ?",
                vec![tenant_id.into(), max_seq.into()],
            )?;
            objects += 1;
            events += count as u64;
        }
        Ok((objects, events))
    }

    /// The key's restrictions (none when the rollup server pushed none for it).
    fn restrictions(&self, key_id: &str) -> Result<KeyRestrictions> {
        let rows: Vec<PolicyRow> = self
            .state
            .storage()
            .sql()
            .exec(
                "SELECT policy FROM key_restrictions WHERE key_id = ?",
                vec![key_id.to_string().into()],
            )?
            .to_array()?;
        Ok(rows
            .first()
            .and_then(|row| serde_json::from_str(&row.policy).ok())
            .unwrap_or_else(|| KeyRestrictions {
                key_id: key_id.to_string(),
                ..Default::default()
            }))
    }

    /// Replaces the revoked list and key restrictions with the pushed document.
    fn set_policies(&self, policies: &KeyPolicies) -> Result<()> {
        let sql = self.state.storage().sql();
        sql.exec("DELETE FROM revoked", None)?;
        sql.exec("DELETE FROM key_restrictions", None)?;
        for key_id in &policies.revoked {
            sql.exec(
                "INSERT OR IGNORE INTO revoked (key_id) VALUES (?)",
                vec![key_id.clone().into()],
            )?;
        }
        for key in &policies.keys {
            let policy = serde_json::to_string(key).map_err(|e| Error::RustError(e.to_string()))?;
            sql.exec(
                "INSERT OR REPLACE INTO key_restrictions (key_id, policy) VALUES (?, ?)",
                vec![key.key_id.clone().into(), policy.into()],
            )?;
        }
        Ok(())
    }
}

/// `future`'s output, or `None` when `limit` passes first (then `future` is dropped).
async fn within<F: Future>(future: F, limit: Duration) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut deadline = pin!(Delay::from(limit));
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        deadline.as_mut().poll(cx).map(|()| None)
    })
    .await
}
