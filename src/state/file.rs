//! The checkpoint on disk: an atomic replace, and moving a bad file aside.
//!
//! A reader sees either the previous checkpoint or the new one, whole, whenever the process or
//! the machine stops: the new bytes go to a temp file in the same directory (a rename is only
//! atomic within one file system), are fsynced, renamed over the checkpoint, and the directory
//! is fsynced so the rename itself survives a power loss.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::failpoint::{self, Failpoint};

/// The temp file a write goes through: `<path>.tmp`, beside the checkpoint. A leftover from a
/// crash is removed by the next write, which then creates the file anew.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Checks that a checkpoint can be written beside `path`: creates a file of its own in the
/// directory (exclusively, so nothing there is touched) and removes it. Run at startup, so a
/// missing or read-only directory stops the start instead of holding back every count later.
pub fn probe_directory(path: &Path) -> io::Result<()> {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".probe-{}", std::process::id()));
    let probe = directory_of(path).join(name);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|mut f| f.write_all(b"probe"));
    let removed = fs::remove_file(&probe);
    written?;
    removed
}

/// The lock file of the checkpoint at `path`: `<path>.lock`, beside it. Never written; only
/// its advisory lock matters, held by the running exporter.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// Takes the advisory lock of the checkpoint at `path` without waiting: `Ok(None)` when
/// another process holds it.
pub fn try_lock(path: &Path) -> io::Result<Option<File>> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options.open(lock_path(path))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

pub(crate) fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Replaces `path` with `bytes` atomically: temp file, write, fsync, rename, fsync the
/// directory.
///
/// The temp file is created exclusively (`O_CREAT|O_EXCL`, after removing whatever has its
/// name): an existing name, a symlink included, is never opened, so a link planted there
/// cannot make the write land on its target. If one is planted again between the removal and
/// the creation, this write fails (and the next tries again) rather than follow it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = temp_path(path);
    match fs::remove_file(&temp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            // Counters and label values only, but nobody else needs to read them.
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&temp)?;
        file.write_all(bytes)?;
        failpoint::hit(Failpoint::AfterTempWrite);
        file.sync_all()?;
    }
    failpoint::hit(Failpoint::AfterFsync);
    fs::rename(&temp, path)?;
    failpoint::hit(Failpoint::AfterRename);
    sync_directory(directory_of(path))
}

fn sync_directory(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Renames a checkpoint that cannot be used to `<path>.corrupt-<UTC time>` (with `-2`, `-3`…
/// if that exists), so it can be inspected and is never read again. Returns the new name.
pub fn move_aside(path: &Path, now: DateTime<Utc>) -> io::Result<PathBuf> {
    let mut base = path.as_os_str().to_os_string();
    base.push(format!(".corrupt-{}", now.format("%Y%m%dT%H%M%SZ")));
    let mut target = PathBuf::from(&base);
    let mut n = 1;
    while target.exists() {
        n += 1;
        let mut name = base.clone();
        name.push(format!("-{n}"));
        target = PathBuf::from(name);
    }
    fs::rename(path, &target)?;
    sync_directory(directory_of(path))?;
    Ok(target)
}
