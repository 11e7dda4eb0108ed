//! `ferrex md-capture --udp ADDR --retransmit ADDR --out FILE.itch [--duration S]`: receive the
//! market-data feed of `ferrex serve` (ITCH 5.0 in MoldUDP64 over UDP), put it back in sequence,
//! fill every gap through the TCP retransmit server and write the messages as an ITCH BinaryFILE
//! that `ferrex replay itch` reads. The receiving side is `ferrex_gateway::md::capture::Capture`.
//!
//! Without `--duration` it runs until the feed's end of session (or Ctrl-C / SIGTERM). A capture
//! started after the feed recovers everything before its first packet from the retransmit
//! server, as long as the server still holds it.

use anyhow::Context;
use ferrex_gateway::md::capture::Capture;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Arguments of `ferrex md-capture`.
#[derive(clap::Args, Debug)]
pub struct MdCaptureArgs {
    /// UDP address to receive the feed on (the `[md] udp` address of the serve config).
    #[arg(long)]
    pub udp: SocketAddr,
    /// TCP address of the feed's retransmit server (`[md] retransmit`).
    #[arg(long)]
    pub retransmit: SocketAddr,
    /// Output ITCH BinaryFILE (u16 big-endian length + message, per message).
    #[arg(long)]
    pub out: PathBuf,
    /// Stop after this many seconds (default: at the end of the session).
    #[arg(long)]
    pub duration: Option<f64>,
}

/// `ferrex md-capture`.
pub fn run(args: &MdCaptureArgs) -> anyhow::Result<()> {
    let mut cap = Capture::bind(args.udp).with_context(|| format!("binding UDP {}", args.udp))?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::Release))
            .context("installing the Ctrl-C / SIGTERM handler")?;
    }
    let limit = args
        .duration
        .map(|d| Duration::from_secs_f64(d.clamp(0.0, 1e9)));
    println!(
        "ferrex md-capture: UDP {} (retransmit {}) -> {}; {}",
        cap.local_addr()?,
        args.retransmit,
        args.out.display(),
        match limit {
            Some(l) => format!("for {:.1} s", l.as_secs_f64()),
            None => "until end of session (Ctrl-C stops earlier)".to_string(),
        }
    );
    let timeout = Duration::from_secs(5);
    let t0 = Instant::now();
    let mut gap_requests = 0u64;
    let mut fill_errors = 0u64;
    let mut last_fill = Instant::now();
    while !stop.load(Ordering::Acquire)
        && !cap.reassembler().ended()
        && limit.is_none_or(|l| t0.elapsed() < l)
    {
        let slice = Duration::from_millis(200);
        let slice = limit.map_or(slice, |l| slice.min(l.saturating_sub(t0.elapsed())));
        cap.receive(slice, slice.max(Duration::from_millis(1)))
            .context("receiving the feed")?;
        // Fill gaps now and then while the feed runs (a capture that starts late holds
        // everything after the gap until it is filled).
        if cap.reassembler().gap().is_some() && last_fill.elapsed() >= Duration::from_millis(500) {
            last_fill = Instant::now();
            match cap.fill_gaps(args.retransmit, timeout) {
                Ok(n) => gap_requests += n,
                Err(e) => {
                    fill_errors += 1;
                    eprintln!("md-capture: retransmit {}: {e}", args.retransmit);
                }
            }
        }
    }
    // Final fill: learn where the feed is and fetch whatever is missing.
    if cap.reassembler().session().is_some()
        && !(cap.reassembler().ended() && cap.reassembler().complete())
    {
        match cap.fill_gaps(args.retransmit, timeout) {
            Ok(n) => gap_requests += n,
            Err(e) => {
                fill_errors += 1;
                eprintln!("md-capture: retransmit {}: {e}", args.retransmit);
            }
        }
    }
    std::fs::write(&args.out, cap.itch())
        .with_context(|| format!("writing {}", args.out.display()))?;
    let re = cap.reassembler();
    let st = cap.stats();
    println!(
        "messages {} ({} bytes), packets {} (malformed {}), gaps filled: {} retransmit requests ({} failed), duplicates {}",
        re.next_seq() - 1,
        cap.itch().len(),
        st.datagrams,
        st.malformed,
        gap_requests,
        fill_errors,
        re.duplicates
    );
    println!(
        "end of session {}; {}",
        if re.ended() { "seen" } else { "not seen" },
        if re.complete() {
            "complete (nothing announced is missing)".to_string()
        } else {
            format!(
                "INCOMPLETE: messages {}..{} missing",
                re.next_seq(),
                re.horizon()
            )
        }
    );
    if !re.complete() {
        anyhow::bail!(
            "the capture in {} is incomplete: the retransmit server no longer had messages {}..{}",
            args.out.display(),
            re.next_seq(),
            re.horizon()
        );
    }
    Ok(())
}
