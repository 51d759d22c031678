//! The rollup server's way to the R2 lake: the edge worker's authenticated export routes, which work
//! under `wrangler dev` (local R2) and in production alike.

use event_schema::key_policy::KeyPolicies;
use serde::Deserialize;
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
    #[error("reading the lake failed: {0}")]
    Task(String),
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

/// The tenant partition of a lake key (`.../tenant=T/...`).
pub fn tenant_of_key(key: &str) -> Option<&str> {
    key.split('/').find_map(|part| part.strip_prefix("tenant="))
}

/// A lake in a local directory with the R2 layout (`events/v1/date=.../tenant=.../<ulid>.ndjson.gz`),
/// e.g. a mirror of the bucket or a generated dataset.
#[derive(Clone, Debug)]
pub struct DirLake {
    root: std::path::PathBuf,
}

impl DirLake {
    /// A lake rooted at `root`.
    pub fn new(root: &std::path::Path) -> DirLake {
        DirLake {
            root: root.to_path_buf(),
        }
    }

    fn bad(&self, key: &str, e: std::io::Error) -> LakeError {
        LakeError::BadObject {
            key: key.to_string(),
            reason: e.to_string(),
        }
    }

    /// One object's bytes.
    pub fn read(&self, key: &str) -> Result<Vec<u8>, LakeError> {
        let path = self.root.join(key);
        std::fs::read(&path).map_err(|e| LakeError::BadObject {
            key: key.to_string(),
            reason: format!("could not read {}: {e}", path.display()),
        })
    }

    /// Every `.ndjson.gz` object whose key sorts after `start_after`, in key order.
    pub fn list_after(&self, start_after: &str) -> Result<Vec<ListedObject>, LakeError> {
        let mut objects = Vec::new();
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            let entries =
                std::fs::read_dir(&dir).map_err(|e| self.bad(&dir.display().to_string(), e))?;
            for entry in entries {
                let entry = entry.map_err(|e| self.bad(&dir.display().to_string(), e))?;
                let path = entry.path();
                let meta = entry
                    .metadata()
                    .map_err(|e| self.bad(&path.display().to_string(), e))?;
                if meta.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let Ok(relative) = path.strip_prefix(&self.root) else {
                    continue;
                };
                let key = relative.to_string_lossy().replace('\\', "/");
                if !key.ends_with(".ndjson.gz") || key.as_str() <= start_after {
                    continue;
                }
                // The flush time in the object's ULID name (what R2's upload time is, near enough),
                // else the file's modification time. Pulls look back from the newest one, so it must
                // follow the key order, which a copy's mtime need not.
                let uploaded_ms = ulid_time_ms(&key).unwrap_or_else(|| {
                    meta.modified()
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_millis() as i64)
                });
                objects.push(ListedObject {
                    key,
                    size: meta.len(),
                    uploaded_ms,
                });
            }
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }
}

/// The millisecond time of a lake key's ULID file name (`.../<ulid>.ndjson.gz`).
fn ulid_time_ms(key: &str) -> Option<i64> {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let name = key.rsplit('/').next()?.strip_suffix(".ndjson.gz")?;
    if name.len() != 26 {
        return None;
    }
    name.bytes().take(10).try_fold(0i64, |ms, c| {
        let digit = ALPHABET.iter().position(|&a| a == c.to_ascii_uppercase())?;
        Some(ms * 32 + digit as i64)
    })
}

/// Where a pull reads batch objects from.
#[derive(Clone)]
pub enum Lake {
    /// The R2 bucket, through the edge worker's export routes.
    Edge(EdgeLake),
    /// A local directory in the lake layout.
    Dir(DirLake),
}

impl Lake {
    /// Makes the edge write out its buffers (a directory has none).
    pub async fn flush(&self) -> Result<Option<FlushReport>, LakeError> {
        match self {
            Lake::Edge(edge) => edge.flush().await.map(Some),
            Lake::Dir(_) => Ok(None),
        }
    }

    /// Every object whose key sorts after `start_after`, in key order.
    pub async fn list_after(&self, start_after: &str) -> Result<Vec<ListedObject>, LakeError> {
        match self {
            Lake::Edge(edge) => edge.list_after(start_after).await,
            Lake::Dir(dir) => {
                let (dir, start) = (dir.clone(), start_after.to_string());
                tokio::task::spawn_blocking(move || dir.list_after(&start))
                    .await
                    .unwrap_or_else(|e| Err(LakeError::Task(e.to_string())))
            }
        }
    }

    /// One object's bytes: a directory lake's file, or the edge's object.
    pub async fn fetch(&self, key: &str) -> Result<Vec<u8>, LakeError> {
        match self {
            Lake::Dir(dir) => {
                let path = dir.root.join(key);
                tokio::fs::read(&path)
                    .await
                    .map_err(|e| LakeError::BadObject {
                        key: key.to_string(),
                        reason: format!("could not read {}: {e}", path.display()),
                    })
            }
            Lake::Edge(edge) => edge.fetch_bytes(key).await,
        }
    }

    /// The edge, when there is one (key policies go there).
    pub fn edge(&self) -> Option<&EdgeLake> {
        match self {
            Lake::Edge(edge) => Some(edge),
            Lake::Dir(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event_schema::batch_key::BatchObjectKey;

    #[test]
    fn a_directory_lake_dates_objects_by_their_ulid_names() {
        let key = BatchObjectKey::new("acme", 1_795_573_874_123, [7; 10]);
        assert_eq!(ulid_time_ms(key.as_str()), Some(1_795_573_874_123));
        assert_eq!(ulid_time_ms("events/v1/x/not-a-ulid.ndjson.gz"), None);
    }
}
