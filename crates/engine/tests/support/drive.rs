//! Driving one runtime session to completion (shared by the runtime journal and snapshot tests).

use ferrex_engine::{Session, SubmitError};
use ferrex_types::Command;
use std::time::{Duration, Instant};

/// Submits `cmds` on one session whose engine has already processed `base` commands, and waits
/// until every command has produced its events. Panics, rather than spinning forever, if the
/// engine thread is gone or nothing moves for 60 s.
pub fn drive_session(s: &mut Session, cmds: &[Command], base: u64) {
    let last = base + cmds.len() as u64;
    let mut seen = base;
    for c in cmds {
        let t0 = Instant::now();
        while let Err(e) = s.submit(*c) {
            assert!(
                matches!(e, SubmitError::Full(_)),
                "the engine thread is gone"
            );
            assert!(t0.elapsed() < Duration::from_secs(60), "ring full for 60 s");
            while let Some(e) = s.poll() {
                seen = seen.max(e.cmd_seq);
            }
        }
    }
    let t0 = Instant::now();
    while seen < last {
        assert!(t0.elapsed() < Duration::from_secs(60), "stuck at {seen}");
        match s.poll() {
            Some(e) => seen = seen.max(e.cmd_seq),
            None => std::thread::yield_now(),
        }
    }
}
