//! Snapshot files next to the journal segments: `snapshot-{seq:020}.snap`, where `seq` is the
//! last command sequence number the snapshot covers (recovery replays the journal after it).
//!
//! The contents are opaque here (the engine defines, versions and checksums its snapshot
//! format); this module only writes them atomically and finds the newest one a caller accepts:
//!
//! - [`write_snapshot`]: write `snapshot-….snap.tmp`, `fsync` it, rename it into place, `fsync`
//!   the directory. A crash leaves either the old set of snapshots or the new one, never a torn
//!   file under the final name (a stray `.tmp` is ignored and overwritten next time).
//! - [`load_latest`]: newest first, read each file and hand it to the caller's `accept` (the
//!   engine's restore, which checks magic, version, CRC32C and configuration); a refused or
//!   unreadable file is skipped and reported in [`Latest::skipped`], and the previous one is
//!   tried.
//!
//! ```
//! use ferrex_journal::snapshot::{load_latest, write_snapshot};
//!
//! let dir = std::env::temp_dir().join(format!("ferrex-snap-doc-{}", std::process::id()));
//! let _ = std::fs::remove_dir_all(&dir);
//! write_snapshot(&dir, 10, b"good").unwrap();
//! write_snapshot(&dir, 20, b"bad!").unwrap();
//! let latest = load_latest(&dir, None, |_, bytes| {
//!     if bytes == b"good" { Ok(bytes.len()) } else { Err("refused") }
//! })
//! .unwrap();
//! assert_eq!(latest.loaded.unwrap().seq, 10);
//! assert_eq!(latest.skipped[0].seq, 20);
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// File name of the snapshot covering commands up to `seq`.
pub fn snapshot_name(seq: u64) -> String {
    format!("snapshot-{seq:020}.snap")
}

/// `seq` of a file named by [`snapshot_name`], else `None`.
pub fn parse_snapshot_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("snapshot-")?.strip_suffix(".snap")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// An I/O error on a snapshot file or the directory.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct SnapshotFileError {
    /// The file or directory.
    pub path: PathBuf,
    /// The error.
    pub source: io::Error,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SnapshotFileError + '_ {
    move |source| SnapshotFileError {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` as the snapshot covering commands up to `seq` in `dir` (created if missing),
/// atomically: temp file, `fsync`, rename, directory `fsync`. Replaces an existing snapshot of
/// the same `seq`. Returns the final path. Cost: one write and two syncs of `bytes.len()`.
pub fn write_snapshot(dir: &Path, seq: u64, bytes: &[u8]) -> Result<PathBuf, SnapshotFileError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let path = dir.join(snapshot_name(seq));
    let tmp = dir.join(format!("{}.tmp", snapshot_name(seq)));
    {
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    // Make the rename itself durable.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))?;
    Ok(path)
}

/// The snapshots in `dir` as `(seq, path)`, oldest first (temp files and other names ignored).
/// A missing directory has none.
pub fn list_snapshots(dir: &Path) -> Result<Vec<(u64, PathBuf)>, SnapshotFileError> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(io_err(dir))?;
        if let Some(seq) = ent.file_name().to_str().and_then(parse_snapshot_name) {
            out.push((seq, ent.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// A snapshot file that [`load_latest`] did not use, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// The sequence number in its name.
    pub seq: u64,
    /// Why it was skipped (read error, refused by the caller, beyond the journal).
    pub reason: String,
}

/// The snapshot [`load_latest`] used.
#[derive(Debug)]
pub struct Loaded<T> {
    /// The file.
    pub path: PathBuf,
    /// The sequence number in its name.
    pub seq: u64,
    /// Its size in bytes.
    pub len: usize,
    /// What the caller's `accept` made of it (the restored engine).
    pub value: T,
}

/// The result of [`load_latest`].
#[derive(Debug)]
pub struct Latest<T> {
    /// The newest snapshot accepted, if any.
    pub loaded: Option<Loaded<T>>,
    /// Newer snapshots that were skipped, newest first.
    pub skipped: Vec<Skipped>,
}

/// Finds the newest snapshot in `dir` that `accept(seq, bytes)` takes, newest first. Snapshots
/// with `seq > max_seq` (beyond the end of the journal: they would cover commands the journal
/// lost) are skipped, as are unreadable files and files `accept` refuses; each skip is
/// reported with its reason. Only a failure to list the directory is an error. Cost: reads
/// each file tried once.
pub fn load_latest<T, E: std::fmt::Display>(
    dir: &Path,
    max_seq: Option<u64>,
    mut accept: impl FnMut(u64, &[u8]) -> Result<T, E>,
) -> Result<Latest<T>, SnapshotFileError> {
    let mut skipped = Vec::new();
    for (seq, path) in list_snapshots(dir)?.into_iter().rev() {
        if let Some(max) = max_seq
            && seq > max
        {
            skipped.push(Skipped {
                path,
                seq,
                reason: format!(
                    "covers commands up to seq {seq}, beyond the journal's last seq {max}"
                ),
            });
            continue;
        }
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                skipped.push(Skipped {
                    path,
                    seq,
                    reason: format!("unreadable: {e}"),
                });
                continue;
            }
        };
        match accept(seq, &bytes) {
            Ok(value) => {
                return Ok(Latest {
                    loaded: Some(Loaded {
                        path,
                        seq,
                        len: bytes.len(),
                        value,
                    }),
                    skipped,
                });
            }
            Err(e) => skipped.push(Skipped {
                path,
                seq,
                reason: e.to_string(),
            }),
        }
    }
    Ok(Latest {
        loaded: None,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ferrex-snapfile-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn names_round_trip_and_others_are_ignored() {
        assert_eq!(parse_snapshot_name(&snapshot_name(42)), Some(42));
        assert_eq!(
            parse_snapshot_name(&snapshot_name(u64::MAX)),
            Some(u64::MAX)
        );
        assert_eq!(parse_snapshot_name("snapshot-42.snap"), None);
        assert_eq!(
            parse_snapshot_name("snapshot-00000000000000000042.snap.tmp"),
            None
        );
        let d = tmpdir("list");
        assert!(list_snapshots(&d).unwrap().is_empty());
        write_snapshot(&d, 7, b"a").unwrap();
        write_snapshot(&d, 3, b"b").unwrap();
        fs::write(d.join(format!("{}.tmp", snapshot_name(9))), b"torn").unwrap();
        fs::write(d.join("journal-00000000000000000001.log"), b"x").unwrap();
        let l = list_snapshots(&d).unwrap();
        assert_eq!(l.iter().map(|x| x.0).collect::<Vec<_>>(), vec![3, 7]);
        assert_eq!(fs::read(&l[1].1).unwrap(), b"a");
        // Rewriting the same seq replaces it.
        write_snapshot(&d, 7, b"c").unwrap();
        assert_eq!(fs::read(&l[1].1).unwrap(), b"c");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn latest_good_one_wins_and_skips_are_reported() {
        let d = tmpdir("latest");
        write_snapshot(&d, 10, b"ok-10").unwrap();
        write_snapshot(&d, 20, b"bad-20").unwrap();
        write_snapshot(&d, 30, b"ok-30").unwrap();
        let accept = |_: u64, b: &[u8]| {
            if b.starts_with(b"ok") {
                Ok(String::from_utf8_lossy(b).into_owned())
            } else {
                Err("CRC32C mismatch")
            }
        };
        // Everything within the journal: the newest good one.
        let l = load_latest(&d, Some(100), accept).unwrap();
        assert_eq!(l.loaded.as_ref().map(|x| x.seq), Some(30));
        assert!(l.skipped.is_empty());
        // The newest is beyond the journal, the next one is refused: back to 10.
        let l = load_latest(&d, Some(25), accept).unwrap();
        let got = l.loaded.unwrap();
        assert_eq!((got.seq, got.value.as_str(), got.len), (10, "ok-10", 5));
        assert_eq!(l.skipped.len(), 2);
        assert_eq!(l.skipped[0].seq, 30);
        assert!(
            l.skipped[0].reason.contains("beyond the journal"),
            "{:?}",
            l.skipped
        );
        assert_eq!(l.skipped[1].seq, 20);
        assert_eq!(l.skipped[1].reason, "CRC32C mismatch");
        // None acceptable.
        let l = load_latest(&d, Some(5), accept).unwrap();
        assert!(l.loaded.is_none());
        assert_eq!(l.skipped.len(), 3);
        fs::remove_dir_all(&d).unwrap();
        // A missing directory has no snapshots.
        let l = load_latest(&d, None, accept).unwrap();
        assert!(l.loaded.is_none() && l.skipped.is_empty());
    }
}
