//! A lake in a local directory.

use super::{LakeError, ListedObject};

/// A lake in a local directory with the R2 layout (`events/v1/date=.../tenant=.../<ulid>.ndjson.gz`),
/// e.g. a mirror of the bucket or a generated dataset.
#[derive(Clone, Debug)]
pub struct DirLake {
    root: std::path::PathBuf,
}

impl DirLake {
    /// The file of a lake key.
    pub(super) fn path_of(&self, key: &str) -> std::path::PathBuf {
        self.root.join(key)
    }

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
