//! Atomic checkpoint directories.
//!
//! A checkpoint is written into `ROOT/.tmp-step-NNNNNNNN/`, every file synced, the directory
//! synced, then renamed to `ROOT/step-NNNNNNNN/` and the root synced. A rename within one
//! filesystem is atomic, so a `step-*` directory is always complete: a `kill -9` at any moment
//! leaves either the new checkpoint or the previous one, never a half-written one under a
//! real name. Leftover `.tmp-*` directories are ignored and removed by the next save. Older
//! checkpoints beyond `keep` are deleted only after the new one is in place. Saving a step that
//! already exists first renames the old directory to `ROOT/.old-step-NNNNNNNN/` and deletes it
//! only after the new one is in place; if a crash falls between the two renames,
//! [`CheckpointDir::latest`] reads the old copy and the next save puts it back.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::TrainError;

const PREFIX: &str = "step-";
const TMP_PREFIX: &str = ".tmp-step-";
const OLD_PREFIX: &str = ".old-step-";

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
        self.recover()?;
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
        let old = self.root.join(format!("{OLD_PREFIX}{step:08}"));
        if dest.exists() {
            std::fs::rename(&dest, &old).map_err(|e| TrainError::io(&dest, e))?;
        }
        std::fs::rename(&tmp, &dest).map_err(|e| TrainError::io(&dest, e))?;
        sync(&self.root)?;
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| TrainError::io(&old, e))?;
        }
        let all = self.list(PREFIX)?;
        for (_, old) in all.iter().take(all.len().saturating_sub(self.keep)) {
            std::fs::remove_dir_all(old).map_err(|e| TrainError::io(old, e))?;
        }
        Ok(dest)
    }

    /// The newest complete checkpoint, if any: a `step-N` directory, or the `.old-step-N` copy
    /// of a replacement interrupted between its two renames (read where it is; the next save
    /// puts it back). Changes nothing on disk, so it is safe beside a running trainer.
    pub fn latest(&self) -> Result<Option<(u64, PathBuf)>, TrainError> {
        if !self.root.exists() {
            return Ok(None);
        }
        let mut all = self.list(PREFIX)?;
        let orphans: Vec<(u64, PathBuf)> =
            self.list(OLD_PREFIX)?.into_iter().filter(|(step, _)| !all.iter().any(|(s, _)| s == step)).collect();
        all.extend(orphans);
        all.sort();
        Ok(all.pop())
    }

    /// Finishes an interrupted replacement: an `.old-step-N` whose `step-N` is in place is
    /// deleted; one whose `step-N` is missing (a crash between the two renames) is put back.
    fn recover(&self) -> Result<(), TrainError> {
        for (step, old) in self.list(OLD_PREFIX)? {
            let dest = self.root.join(format!("{PREFIX}{step:08}"));
            if dest.exists() {
                std::fs::remove_dir_all(&old).map_err(|e| TrainError::io(&old, e))?;
            } else {
                std::fs::rename(&old, &dest).map_err(|e| TrainError::io(&dest, e))?;
            }
        }
        Ok(())
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

/// Writes `value` as pretty JSON (and a final newline), atomically
/// ([`rope_ext_model::files::atomic_write`]).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), TrainError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| TrainError::Json { path: path.into(), source: e })?;
    write_text(path, &format!("{text}\n"))
}

/// Writes `text` to `path` atomically (a report, a figure).
pub fn write_text(path: &Path, text: &str) -> Result<(), TrainError> {
    rope_ext_model::files::atomic_write(path, text.as_bytes()).map_err(|e| TrainError::io(path, e))
}

/// Reads a JSON file into `T`; a structural mismatch names the field and line.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| TrainError::Json { path: path.into(), source: e })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A checkpoint root (not yet created) inside a fresh temporary directory.
    fn dir() -> (tempfile::TempDir, CheckpointDir) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("checkpoints");
        (tmp, CheckpointDir::new(root, 1))
    }

    fn write_marker(text: &'static str) -> impl FnOnce(&Path) -> Result<(), TrainError> {
        move |tmp| std::fs::write(tmp.join("marker"), text).map_err(|e| TrainError::io(tmp, e))
    }

    fn marker(path: &Path) -> String {
        std::fs::read_to_string(path.join("marker")).unwrap()
    }

    /// A write that fails part-way (an error, or a panic as from a killed writer thread) never
    /// touches the checkpoint already saved, and its debris is cleared by the next save.
    #[test]
    fn an_interrupted_write_leaves_the_previous_checkpoint() {
        let (_tmp, d) = dir();
        d.save(1, write_marker("one")).unwrap();
        let failed = d.save(2, |tmp| {
            std::fs::write(tmp.join("half"), "x").unwrap();
            Err(TrainError::Data("disk full".into()))
        });
        assert!(failed.is_err());
        let panicked = std::panic::catch_unwind(|| d.save(3, |_| panic!("killed mid-write")));
        assert!(panicked.is_err());
        let (step, path) = d.latest().unwrap().unwrap();
        assert_eq!((step, marker(&path).as_str()), (1, "one"));
        d.save(4, write_marker("four")).unwrap();
        let names: Vec<String> = std::fs::read_dir(d.root())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["step-00000004".to_string()], "keep 1, no temporary left");
    }

    /// Saving a step again replaces it; a crash between moving the old copy aside and putting
    /// the new one in place (simulated by leaving the moved copy) loses nothing.
    #[test]
    fn replacing_a_step_is_recoverable_at_every_point() {
        let (_tmp, d) = dir();
        d.save(5, write_marker("first")).unwrap();
        let path = d.save(5, write_marker("second")).unwrap();
        assert_eq!(marker(&path), "second");
        std::fs::rename(&path, d.root().join(".old-step-00000005")).unwrap();
        let (step, path) = d.latest().unwrap().unwrap();
        assert_eq!((step, marker(&path).as_str()), (5, "second"));
        d.save(6, write_marker("six")).unwrap();
        assert!(d.root().join("step-00000006").exists());
        assert!(!d.root().join(".old-step-00000005").exists(), "the next save finishes the replacement");
    }
}
