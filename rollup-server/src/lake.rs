//! The rollup server's way to the R2 lake: the edge worker's authenticated export routes, which work
//! under `wrangler dev` (local R2) and in production alike.

use event_schema::key_policy::KeyPolicies;
use event_schema::StoredEvent;
use flate2::read::GzDecoder;
use serde::Deserialize;
use std::io::{BufRead, BufReader};
use std::time::Duration;

/// What went wrong talking to the edge.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("edge at {url} could not be reached: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("edge answered {status} to {what}: {body}")]
    Refused {
        what: String,
        status: u16,
        body: String,
    },
    #[error("batch object {key} is not valid gzip NDJSON: {reason}")]
    BadObject { key: String, reason: String },
}

/// One listed batch object.
#[derive(Debug, Clone, Deserialize)]
pub struct ListedObject {
    pub key: String,
    pub size: u64,
    pub uploaded_ms: i64,
}

#[derive(Debug, Deserialize)]
struct Listing {
    objects: Vec<ListedObject>,
    truncated: bool,
    cursor: Option<String>,
}

/// What the edge's flush wrote.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize)]
pub struct FlushReport {
    pub objects: u64,
    pub events: u64,
}

/// A decoded batch object.
#[derive(Debug)]
pub struct DecodedBatch {
    pub events: Vec<StoredEvent>,
    /// Lines that were not valid events (logged and skipped; never expected).
    pub bad_lines: u64,
}

/// Client for the edge's export routes.
#[derive(Clone)]
pub struct EdgeLake {
    base_url: String,
    export_secret: String,
    http: reqwest::Client,
}

impl EdgeLake {
    /// A client for the edge at `base_url` (e.g. `http://127.0.0.1:8787`).
    pub fn new(base_url: &str, export_secret: &str) -> EdgeLake {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap_or_default();
        EdgeLake {
            base_url: base_url.trim_end_matches('/').to_string(),
            export_secret: export_secret.to_string(),
            http,
        }
    }

    async fn send(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, LakeError> {
        let response = request
            .bearer_auth(&self.export_secret)
            .send()
            .await
            .map_err(|source| self.unreachable(source))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        Err(LakeError::Refused {
            what: what.to_string(),
            status,
            body,
        })
    }

    fn unreachable(&self, source: reqwest::Error) -> LakeError {
        LakeError::Unreachable {
            url: self.base_url.clone(),
            source,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Makes the edge write every buffered event to the lake now.
    pub async fn flush(&self) -> Result<FlushReport, LakeError> {
        let response = self
            .send("flush", self.http.post(self.url("/internal/flush")))
            .await?;
        response
            .json()
            .await
            .map_err(|source| self.unreachable(source))
    }

    /// Every object whose key sorts after `start_after`, in key order.
    pub async fn list_after(&self, start_after: &str) -> Result<Vec<ListedObject>, LakeError> {
        let mut objects = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("start_after", start_after.to_string())];
            if let Some(c) = &cursor {
                query.push(("cursor", c.clone()));
            }
            let request = self.http.get(self.url("/internal/objects")).query(&query);
            let listing: Listing = self
                .send("list", request)
                .await?
                .json()
                .await
                .map_err(|source| self.unreachable(source))?;
            objects.extend(listing.objects);
            match (listing.truncated, listing.cursor) {
                (true, Some(next)) => cursor = Some(next),
                _ => break,
            }
        }
        Ok(objects)
    }

    /// Downloads and decodes one batch object.
    pub async fn fetch(&self, key: &str) -> Result<DecodedBatch, LakeError> {
        let request = self
            .http
            .get(self.url("/internal/object"))
            .query(&[("key", key)]);
        let bytes = self
            .send("object", request)
            .await?
            .bytes()
            .await
            .map_err(|source| self.unreachable(source))?;
        decode_batch(key, &bytes)
    }

    /// Sends the full key policy document (revocations, origins, rate limits) to the edge.
    pub async fn push_key_policies(&self, policies: &KeyPolicies) -> Result<(), LakeError> {
        let request = self
            .http
            .post(self.url("/internal/key-policies"))
            .json(policies);
        self.send("key policies", request).await.map(|_| ())
    }
}

/// Decodes a gzip NDJSON batch object, line by line.
pub fn decode_batch(key: &str, gzipped: &[u8]) -> Result<DecodedBatch, LakeError> {
    let reader = BufReader::new(GzDecoder::new(gzipped));
    let mut batch = DecodedBatch {
        events: Vec::new(),
        bad_lines: 0,
    };
    for line in reader.lines() {
        let line = line.map_err(|e| LakeError::BadObject {
            key: key.to_string(),
            reason: e.to_string(),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<StoredEvent>(&line) {
            Ok(event) => batch.events.push(event),
            Err(e) => {
                tracing::warn!(object = key, error = %e, "skipping a line that is not a valid event");
                batch.bad_lines += 1;
            }
        }
    }
    Ok(batch)
}

/// The tenant partition of a lake key (`.../tenant=T/...`).
pub fn tenant_of_key(key: &str) -> Option<&str> {
    key.split('/').find_map(|part| part.strip_prefix("tenant="))
}
