//! Where a pull's objects come from: the R2 lake through the edge worker's authenticated export
//! routes ([`edge`], under `wrangler dev`'s local R2 and in production alike), or a local directory in
//! the lake's layout ([`dir`]).

mod dir;
mod edge;

pub use dir::DirLake;
pub use edge::EdgeLake;

use serde::Deserialize;

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

/// What the edge's flush wrote.
#[derive(Debug, Clone, Copy, Default, Deserialize, serde::Serialize)]
pub struct FlushReport {
    pub objects: u64,
    pub events: u64,
}

/// The tenant partition of a lake key (`.../tenant=T/...`).
pub fn tenant_of_key(key: &str) -> Option<&str> {
    key.split('/').find_map(|part| part.strip_prefix("tenant="))
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
                let path = dir.path_of(key);
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
