//! The worker's ingest core, free of platform types: decode a request body, validate each event,
//! and enrich the valid ones with what the edge knows (tenant and key from the API key, receipt time,
//! user agent, geo). The benchmark and the unit tests run exactly this code.

use event_schema::api_key::ApiKey;
use event_schema::{
    limits, parse_batch, raw_url, validate_event, BatchError, ClientEvent, EventError, GeoFields,
    StoredEvent, UserAgentFields,
};
use flate2::read::GzDecoder;
use serde::Serialize;
use std::io::Read;

/// What the edge knows about one request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub key: ApiKey,
    pub received_at: i64,
    pub user_agent: UserAgentFields,
    pub geo: GeoFields,
}

/// The result of one ingest request, before buffering.
#[derive(Debug)]
pub struct IngestOutcome {
    /// Valid events, enriched, in request order.
    pub stored: Vec<StoredEvent>,
    /// Invalid events: index in the request and why.
    pub rejected: Vec<(usize, EventError)>,
    /// Accepted events sent without an `eid`: index in the request and the eid given here.
    pub assigned: Vec<(usize, String)>,
}

/// The `202` answer body: `{"accepted":N,"rejected":[{"index":i,"error":"..."}]}`.
#[derive(Debug, Serialize)]
pub struct IngestReceipt {
    pub accepted: usize,
    pub rejected: Vec<RejectedEvent>,
    /// Events sent without an `eid` got one here; a copy resent without it would count twice, so a
    /// client that retries resends with these.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assigned_eids: Vec<AssignedEid>,
}

/// The eid the edge gave an event sent without one.
#[derive(Debug, Serialize)]
pub struct AssignedEid {
    pub index: usize,
    pub eid: String,
}

/// One rejected event in a receipt.
#[derive(Debug, Serialize)]
pub struct RejectedEvent {
    pub index: usize,
    pub field: String,
    pub error: String,
}

impl IngestOutcome {
    /// The receipt for the client.
    pub fn receipt(&self) -> IngestReceipt {
        IngestReceipt {
            accepted: self.stored.len(),
            rejected: self
                .rejected
                .iter()
                .map(|(index, e)| RejectedEvent {
                    index: *index,
                    field: e.field.clone(),
                    error: e.to_string(),
                })
                .collect(),
            assigned_eids: self
                .assigned
                .iter()
                .map(|(index, eid)| AssignedEid {
                    index: *index,
                    eid: eid.clone(),
                })
                .collect(),
        }
    }
}

/// Decompresses a gzip request body, refusing to inflate past the body limit (zip bombs).
pub fn gunzip_body(body: &[u8]) -> Result<Vec<u8>, BatchError> {
    let mut out = Vec::new();
    let mut decoder = GzDecoder::new(body).take(limits::MAX_BODY_BYTES as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|e| {
        BatchError::MalformedJson(format!("gzip body could not be decompressed: {e}"))
    })?;
    if out.len() > limits::MAX_BODY_BYTES {
        return Err(BatchError::TooLarge(out.len()));
    }
    Ok(out)
}

/// Validates and enriches a `POST /v1/events` body.
pub fn ingest_batch(
    body: &[u8],
    context: &RequestContext,
    mut new_eid: impl FnMut() -> String,
) -> Result<IngestOutcome, BatchError> {
    let mut given = std::collections::HashSet::new();
    let batch = parse_batch(body, context.received_at, || {
        let eid = new_eid();
        given.insert(eid.clone());
        eid
    })?;
    let assigned = batch
        .accepted
        .iter()
        .filter(|(_, event)| given.contains(&event.eid))
        .map(|(index, event)| (*index, event.eid.clone()))
        .collect();
    Ok(IngestOutcome {
        stored: batch
            .accepted
            .into_iter()
            .map(|(_, event)| enrich(event, context))
            .collect(),
        rejected: batch.rejected,
        assigned,
    })
}

/// Validates and enriches one raw URL event (`/v1/collect`), applying the Opentracker id rules.
pub fn ingest_raw_url<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
    context: &RequestContext,
    mut new_eid: impl FnMut() -> String,
) -> Result<StoredEvent, EventError> {
    let raw = raw_url::event_from_params(params, context.received_at, &mut new_eid);
    let event = validate_event(raw, context.received_at, &mut new_eid)?;
    Ok(enrich(event, context))
}

/// Adds the edge's fields to a validated event.
pub fn enrich(event: ClientEvent, context: &RequestContext) -> StoredEvent {
    StoredEvent {
        tenant_id: context.key.tenant_id.clone(),
        key_id: context.key.key_id.clone(),
        received_at: context.received_at,
        event,
        user_agent: context.user_agent.clone(),
        geo: context.geo.clone(),
    }
}

/// Serializes events as NDJSON (one JSON object per line, each line ending in `\n`).
pub fn to_ndjson(events: &[StoredEvent]) -> String {
    let mut out = String::with_capacity(events.len() * 512);
    for event in events {
        // Serializing our own plain structs to a String cannot fail.
        if let Ok(line) = serde_json::to_string(event) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// Gzips a batch object body.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use flate2::write::GzEncoder;
    use std::io::Write;
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// Parses the dev-only geo override header (`country=DE;city=Berlin;continent=EU;...`). The worker
/// honours it only when `DEV_GEO_OVERRIDE=true`, which production never sets.
pub fn geo_from_dev_header(value: &str) -> GeoFields {
    let mut geo = GeoFields::default();
    for pair in value.split(';') {
        let Some((name, v)) = pair.split_once('=') else {
            continue;
        };
        let v = Some(v.trim().to_string()).filter(|v| !v.is_empty());
        match name.trim() {
            "continent" => geo.continent = v,
            "country" => geo.country = v,
            "subdivision" => geo.subdivision = v,
            "city" => geo.city = v,
            "timezone" => geo.timezone = v,
            "colo" => geo.colo = v,
            _ => {}
        }
    }
    geo
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> RequestContext {
        RequestContext {
            key: ApiKey {
                tenant_id: "acme".into(),
                key_id: "k1".into(),
            },
            received_at: 1_764_000_000_000,
            user_agent: UserAgentFields::default(),
            geo: GeoFields::default(),
        }
    }

    #[test]
    fn tenant_comes_from_the_key_not_the_client() {
        let body =
            json!({"events":[{"type":"page_view","ts":1_764_000_000_000_i64,"anonymous_id":"a",
            "tenant_id":"evil","key_id":"forged"}]})
            .to_string();
        let outcome = ingest_batch(body.as_bytes(), &context(), || "e".into()).expect("batch");
        let line = to_ndjson(&outcome.stored);
        let back: StoredEvent = serde_json::from_str(line.trim()).expect("line");
        assert_eq!(back.tenant_id, "acme");
        assert_eq!(back.key_id, "k1");
        // The client's attempt is kept as data, in props, never as the tenant.
        assert_eq!(back.event.props.get("tenant_id"), Some(&json!("evil")));
    }

    #[test]
    fn the_receipt_names_the_eids_given_to_events_sent_without_one() {
        let body = json!({"events":[
            {"type":"page_view","ts":1_764_000_000_000_i64,"anonymous_id":"a","eid":"mine"},
            {"type":"page_view","ts":1_764_000_000_000_i64,"anonymous_id":"a"},
            {"type":"no_such_type","ts":1_764_000_000_000_i64,"anonymous_id":"a"},
            {"type":"page_view","ts":1_764_000_000_000_i64,"anonymous_id":"a"}
        ]})
        .to_string();
        let mut n = 0;
        let outcome = ingest_batch(body.as_bytes(), &context(), || {
            n += 1;
            format!("given-{n}")
        })
        .expect("batch");
        let receipt = serde_json::to_value(outcome.receipt()).expect("json");
        let assigned: Vec<(u64, String)> = receipt["assigned_eids"]
            .as_array()
            .expect("assigned_eids")
            .iter()
            .map(|a| {
                (
                    a["index"].as_u64().unwrap_or(99),
                    a["eid"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let stored: Vec<&str> = outcome
            .stored
            .iter()
            .map(|e| e.event.eid.as_str())
            .collect();
        assert_eq!(receipt["accepted"], 3, "{receipt}");
        assert_eq!(assigned.len(), 2, "{receipt}");
        assert_eq!(assigned.iter().map(|a| a.0).collect::<Vec<_>>(), [1, 3]);
        for (_, eid) in &assigned {
            assert!(
                stored.contains(&eid.as_str()),
                "{eid} is the stored event's eid"
            );
        }
        // A batch whose events all carry eids has no such field.
        let body = json!({"events":[{"type":"page_view","ts":1_764_000_000_000_i64,"anonymous_id":"a","eid":"x"}]})
            .to_string();
        let outcome = ingest_batch(body.as_bytes(), &context(), || "g".into()).expect("batch");
        let receipt = serde_json::to_value(outcome.receipt()).expect("json");
        assert!(receipt.get("assigned_eids").is_none(), "{receipt}");
    }

    #[test]
    fn gzip_round_trips_and_bombs_are_refused() {
        let body = br#"{"events":[]}"#;
        assert_eq!(gunzip_body(&gzip(body)).expect("inflates"), body);
        let bomb = gzip(&vec![b' '; limits::MAX_BODY_BYTES + 10]);
        assert!(matches!(gunzip_body(&bomb), Err(BatchError::TooLarge(_))));
        assert!(matches!(
            gunzip_body(b"not gzip"),
            Err(BatchError::MalformedJson(m)) if m.contains("gzip body could not be decompressed")
        ));
    }

    #[test]
    fn raw_url_event_follows_id_rules() {
        let stored = ingest_raw_url([("type", "page_view"), ("sid", "s9")], &context(), || {
            "E1".into()
        })
        .expect("valid");
        assert_eq!(stored.event.eid, "E1");
        assert_eq!(stored.event.session_id.as_deref(), Some("s9"));
        assert_eq!(stored.event.anonymous_id, "s9");
    }

    #[test]
    fn dev_geo_header_sets_fields() {
        let geo = geo_from_dev_header("country=DE; city=Berlin;continent=EU;bogus");
        assert_eq!(geo.country.as_deref(), Some("DE"));
        assert_eq!(geo.city.as_deref(), Some("Berlin"));
        assert_eq!(geo.continent.as_deref(), Some("EU"));
        assert_eq!(geo.colo, None);
    }
}
