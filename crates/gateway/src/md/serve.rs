//! The market-data thread of `ferrex serve` ([`crate::server`]): drains the engine runtime's
//! market-data ring into an [`MdFeed`].
//!
//! [`MdThread::spawn`] takes a started feed and an [`EventSource`] (in the server: the runtime's
//! market-data consumer) and runs a thread (`ferrex-md`, unpinned) that, in engine order, hands every event to
//! [`MdFeed::publish`], calls [`MdFeed::flush`] whenever the ring is momentarily empty (so each
//! command's messages leave at once), and otherwise backs off (spin, yield, then sleeps of
//! 50 µs, 500 µs once quiet for a while).
//! A full market-data ring stalls the engine, so the loop never blocks on anything but the feed
//! itself. Heartbeats come from the feed's own thread.
//!
//! When the ring's producer is gone (the engine thread has exited) or [`MdThread::finish`] is
//! called, the thread drains what is left, flushes, publishes the end of the session (system
//! events `M`, `E`, `C`, then three end-of-session packets), keeps the retransmit server up for
//! [`MdSpec::linger`] so a receiver can still fill its last gaps, drops the feed and returns its
//! counters ([`MdReport`]).
//!
//! Why unpinned: on a two-core machine the engine thread busy-polls its core and the gateway
//! thread is busy on the other exactly when orders (and so market data) flow; there is no free
//! core. Pinning this thread to the gateway core would confine it to competing with the gateway
//! alone, while unpinned the scheduler can run it wherever time is free. It sleeps when the ring
//! is empty, so it costs little when the market is quiet.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferrex_engine::Event;

use super::feed::MdFeed;

/// Market data of the server: where the feed goes and how it is framed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MdSpec {
    /// Where MoldUDP64 packets are sent (unicast or multicast address and port).
    pub udp_dest: SocketAddr,
    /// Local address of the sending UDP socket (port 0: any).
    pub udp_bind: SocketAddr,
    /// TCP address of the retransmit server (port 0: any free port).
    pub retransmit_bind: SocketAddr,
    /// MoldUDP64 session name (≤ 10 printable ASCII characters).
    pub session: String,
    /// Largest UDP payload, MoldUDP64 header included (≥ 80).
    pub max_packet: usize,
    /// Slots of the engine runtime's market-data ring (a full ring stalls the engine).
    pub ring_capacity: usize,
    /// Heartbeat after this much silence.
    pub heartbeat: Duration,
    /// Messages kept for retransmission.
    pub store_capacity: usize,
    /// How long the retransmit server keeps answering after the end of the session.
    pub linger: Duration,
}

impl MdSpec {
    /// A spec with defaults: sending socket on `0.0.0.0:0` (`127.0.0.1:0` for a loopback
    /// destination), 1400-byte packets, a 65,536-event ring, 1 s heartbeats, 1,000,000 stored
    /// messages, 1 s linger.
    pub fn new(udp_dest: SocketAddr, retransmit_bind: SocketAddr, session: &str) -> MdSpec {
        let udp_bind = if udp_dest.ip().is_loopback() {
            SocketAddr::from(([127, 0, 0, 1], 0))
        } else {
            SocketAddr::from(([0, 0, 0, 0], 0))
        };
        MdSpec {
            udp_dest,
            udp_bind,
            retransmit_bind,
            session: session.to_string(),
            max_packet: 1400,
            ring_capacity: 1 << 16,
            heartbeat: Duration::from_secs(1),
            store_capacity: 1_000_000,
            linger: Duration::from_secs(1),
        }
    }
}

/// Counters of the market-data thread, in the server report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MdReport {
    /// Engine events read from the market-data ring.
    pub events: u64,
    /// ITCH messages sequenced.
    pub messages: u64,
    /// Data packets sent.
    pub packets: u64,
    /// Heartbeat packets sent.
    pub heartbeats: u64,
    /// End-of-session packets sent.
    pub end_of_session: u64,
    /// UDP sends that failed (those messages stay retransmittable).
    pub send_errors: u64,
    /// Retransmit requests answered.
    pub retransmit_requests: u64,
    /// Events that contradicted the encoder's view of the books (0 when every book has level
    /// events on).
    pub desyncs: u64,
    /// Sequence number the next message would have had.
    pub next_seq: u64,
}

/// The running market-data thread (module docs).
#[derive(Debug)]
pub struct MdThread {
    stop: Arc<AtomicBool>,
    join: Option<JoinHandle<MdReport>>,
}

/// Where the drain thread reads events from: a function that hands up to a batch of events, in
/// order, to its argument and returns `(events handed, closed, complete)`: `closed` when the
/// source was already closed (producer gone: nothing arrives after what is buffered) *before*
/// it read, and `complete` a `cmd_seq` such that every event of the commands up to it has been
/// handed once this read is done (taken **before** reading, e.g.
/// [`ferrex_engine::MdProgress::complete_through`]; a source that only ever delivers whole
/// commands may return `u64::MAX`). For the runtime's market-data consumer `c` and its progress
/// `p`: `move |f| { let closed = c.is_abandoned(); let done = p.complete_through();
/// (c.read_batch(256, f), closed, done) }`.
pub trait EventSource: FnMut(&mut dyn FnMut(Event)) -> (usize, bool, u64) + Send + 'static {}

impl<F: FnMut(&mut dyn FnMut(Event)) -> (usize, bool, u64) + Send + 'static> EventSource for F {}

/// Nanoseconds since the Unix epoch (0 if the clock is before it).
pub fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl MdThread {
    /// Publishes the start of day on `feed` now, then spawns the drain thread.
    pub fn spawn<S: EventSource>(
        mut feed: MdFeed,
        source: S,
        linger: Duration,
    ) -> std::io::Result<MdThread> {
        feed.start_of_day(unix_ns());
        feed.flush();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let join = std::thread::Builder::new()
            .name("ferrex-md".into())
            .spawn(move || drain(feed, source, &stop2, linger))?;
        Ok(MdThread {
            stop,
            join: Some(join),
        })
    }

    /// Ends the session (after draining what the ring still holds), waits out the linger and
    /// joins the thread. `None` if the thread panicked (a bug).
    pub fn finish(mut self) -> Option<MdReport> {
        self.stop.store(true, Ordering::Release);
        self.join.take().and_then(|j| j.join().ok())
    }
}

impl Drop for MdThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

fn drain<S: EventSource>(
    mut feed: MdFeed,
    mut source: S,
    stop: &AtomicBool,
    linger: Duration,
) -> MdReport {
    let mut events = 0u64;
    let mut dirty = false;
    let mut idle = 0u32;
    let mut last_time = 0u64;
    loop {
        // Read `closed` before draining: once it is true nothing more arrives, so an empty ring
        // after that means everything has been published.
        let stopping = stop.load(Ordering::Acquire);
        let (n, closed, complete) = source(&mut |ev: Event| {
            last_time = ev.time;
            feed.publish(&ev);
        });
        let closed = closed || stopping;
        if n > 0 {
            events += n as u64;
            dirty = true;
            idle = 0;
            continue;
        }
        if dirty {
            // Only a command the engine has finished is closed: the ring can be empty between
            // two events of one command.
            dirty = !feed.flush_through(if closed { u64::MAX } else { complete });
        }
        if closed {
            break;
        }
        idle = idle.saturating_add(1);
        if idle < 64 {
            std::hint::spin_loop();
        } else if idle < 128 {
            std::thread::yield_now();
        } else if idle < 1_128 {
            std::thread::sleep(Duration::from_micros(50));
        } else {
            // Quiet for a while: wake less often (the ring holds far more than arrives in
            // 500 µs at the engine's rate, and the first event resets the back-off).
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    feed.end_session(unix_ns().max(last_time), 3);
    let t0 = Instant::now();
    while t0.elapsed() < linger {
        std::thread::sleep(Duration::from_millis(10).min(linger));
    }
    let p = feed.publisher_stats();
    let report = MdReport {
        events,
        messages: p.messages,
        packets: p.packets,
        heartbeats: p.heartbeats,
        end_of_session: p.end_of_session,
        send_errors: p.send_errors,
        retransmit_requests: feed.retransmit_requests(),
        desyncs: feed.encoder_stats().desyncs,
        next_seq: feed.next_seq(),
    };
    drop(feed);
    report
}
