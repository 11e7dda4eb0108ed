//! Where the bundled data lives.

use std::path::PathBuf;

/// The workspace root: the current directory if it holds `tests/data`, else the root this binary
/// was built from.
pub fn workspace_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    if cwd.join("tests/data").is_dir() {
        return cwd;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file under `tests/data/` of the workspace.
pub fn bundled(name: &str) -> PathBuf {
    workspace_root().join("tests/data").join(name)
}
