//! Atomic checkpoint directories.
//!
//! A checkpoint is written into `ROOT/.tmp-step-NNNNNNNN/`, every file synced, the directory
//! synced, then renamed to `ROOT/step-NNNNNNNN/` and the root synced. A rename within one
//! filesystem is atomic, so a `step-*` directory is always complete: a `kill -9` at any moment
//! leaves either the new checkpoint or the previous one, never a half-written one under a
//! real name. Leftover `.tmp-*` directories are ignored and removed by the next save. Older
//! checkpoints beyond `keep` are deleted only after the new one is in place.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::TrainError;

const PREFIX: &str = "step-";
const TMP_PREFIX: &str = ".tmp-step-";

/// A directory of numbered checkpoints.
#[derive(Debug, Clone)]
pub struct CheckpointDir {
    root: PathBuf,
    keep: usize,
}

impl CheckpointDir {
    /// Checkpoints under `root`, keeping the newest `keep` (at least 1).
    pub fn new(root: impl Into<PathBuf>, keep: usize) -> Self {
        CheckpointDir { root: root.into(), keep: keep.max(1) }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes checkpoint `step`: `write` fills a fresh temporary directory, which is then
    /// synced and renamed into place. Returns the final directory.
    pub fn save(&self, step: u64, write: impl FnOnce(&Path) -> Result<(), TrainError>) -> Result<PathBuf, TrainError> {
        std::fs::create_dir_all(&self.root).map_err(|e| TrainError::io(&self.root, e))?;
        for (_, stale) in self.list(TMP_PREFIX)? {
            std::fs::remove_dir_all(&stale).map_err(|e| TrainError::io(&stale, e))?;
        }
        let tmp = self.root.join(format!("{TMP_PREFIX}{step:08}"));
        std::fs::create_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
        write(&tmp)?;
        for entry in std::fs::read_dir(&tmp).map_err(|e| TrainError::io(&tmp, e))? {
            let path = entry.map_err(|e| TrainError::io(&tmp, e))?.path();
            sync(&path)?;
        }
        sync(&tmp)?;
        let dest = self.root.join(format!("{PREFIX}{step:08}"));
        if dest.exists() {
            std::fs::remove_dir_all(&dest).map_err(|e| TrainError::io(&dest, e))?;
        }
        std::fs::rename(&tmp, &dest).map_err(|e| TrainError::io(&dest, e))?;
        sync(&self.root)?;
        let all = self.list(PREFIX)?;
        for (_, old) in all.iter().take(all.len().saturating_sub(self.keep)) {
            std::fs::remove_dir_all(old).map_err(|e| TrainError::io(old, e))?;
        }
        Ok(dest)
    }

    /// The newest complete checkpoint, if any.
    pub fn latest(&self) -> Result<Option<(u64, PathBuf)>, TrainError> {
        if !self.root.exists() {
            return Ok(None);
        }
        Ok(self.list(PREFIX)?.pop())
    }

    /// Directories named `prefix` + step, sorted by step.
    fn list(&self, prefix: &str) -> Result<Vec<(u64, PathBuf)>, TrainError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.root).map_err(|e| TrainError::io(&self.root, e))? {
            let entry = entry.map_err(|e| TrainError::io(&self.root, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(step) = name.strip_prefix(prefix).and_then(|s| s.parse::<u64>().ok()) {
                out.push((step, entry.path()));
            }
        }
        out.sort();
        Ok(out)
    }
}

fn sync(path: &Path) -> Result<(), TrainError> {
    std::fs::File::open(path).and_then(|f| f.sync_all()).map_err(|e| TrainError::io(path, e))
}

/// Writes `value` as pretty JSON through a synced temporary file and a rename.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), TrainError> {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value).map_err(|e| TrainError::Json { path: path.into(), source: e })?;
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    f.write_all(text.as_bytes()).and_then(|()| f.write_all(b"\n")).map_err(|e| TrainError::io(&tmp, e))?;
    f.sync_all().map_err(|e| TrainError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| TrainError::io(path, e))
}

/// Reads a JSON file into `T`; a structural mismatch names the field and line.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| TrainError::Json { path: path.into(), source: e })
}
