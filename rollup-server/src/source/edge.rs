//! The edge worker's export routes: flush, list, fetch, and key policies.

use super::{FlushReport, LakeError, ListedObject};
use event_schema::key_policy::KeyPolicies;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Deserialize)]
struct Listing {
    objects: Vec<ListedObject>,
    truncated: bool,
    cursor: Option<String>,
}

/// Client for the edge's export routes.
#[derive(Clone)]
pub struct EdgeLake {
    base_url: String,
    export_secret: String,
    http: reqwest::Client,
}

impl EdgeLake {
    /// A client for the edge at `base_url` (e.g. `http://127.0.0.1:8787`); each request gives up after
    /// `timeout` (the pull then fails, loads nothing of that request, and the next pull retries).
    pub fn new(base_url: &str, export_secret: &str, timeout: Duration) -> EdgeLake {
        let http = reqwest::Client::builder()
            .timeout(timeout)
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

    /// Downloads one batch object as stored (gzip NDJSON).
    pub async fn fetch_bytes(&self, key: &str) -> Result<Vec<u8>, LakeError> {
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
        Ok(bytes.to_vec())
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
