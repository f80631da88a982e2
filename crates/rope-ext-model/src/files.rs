//! Files written whole or not at all: the one atomic write every saved file of the workspace
//! goes through (model weights, `config.json`, `tokenizer.json`, the trainer's JSON state).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a synced temporary file beside it ([`temporary_path`]) and a
/// rename, so a crash leaves the previous file or the new one, never part of one.
///
/// # Errors
/// The I/O error of creating, writing, syncing or renaming.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temporary_path(path);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Where [`atomic_write`] writes before the rename: `path` with `.tmp` appended.
pub fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}
