//! The SoupBinTCP 4.0 server session as a pure, I/O-free state machine.
//!
//! One [`SoupSession`] is one logical session (one account's OUCH port): it outlives TCP
//! connections, numbers the sequenced (server → client) messages 1, 2, 3, … and keeps the last
//! `store_capacity` of them so a client that logs in again with a requested sequence number gets
//! the ones it missed replayed.
//!
//! The server thread decodes packets with [`crate::soupbin::decode`], hands each one to
//! [`SoupSession::on_packet`] (with an authentication callback), writes what the session appended
//! to `out`, hands returned Unsequenced Data payloads to the OUCH decoder, and closes the socket
//! when told. [`SoupSession::on_timer`] sends Server Heartbeats after `heartbeat_ns` of output
//! silence and reports a dead client after `timeout_ns` of input silence.
//!
//! Rules:
//! - The first packet of a connection must be a Login Request, else the connection is dropped.
//!   Bad credentials → Login Rejected `A`; a requested session other than blank or this session's
//!   id → Login Rejected `S`; both drop the connection.
//! - Requested sequence number 0 = start with the next new message; n ≥ 1 = replay from n
//!   (clamped to the oldest stored message and to the next new one). Login Accepted carries the
//!   sequence number of the first message the client will receive.
//! - After login: Unsequenced Data → delivered; Client Heartbeat → nothing; Logout Request → drop;
//!   Debug → ignored; anything else (a second login, server-only packet types) → drop.
//!
//! Costs: O(packet) per packet; replay is O(replayed bytes); the store allocates one buffer per
//! stored message (bounded).

use crate::soupbin::{self, LoginRejectCode, Packet};
use std::collections::VecDeque;

/// Session parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoupConfig {
    /// Session id sent in Login Accepted (up to 10 alphanumerics).
    pub session_id: Vec<u8>,
    /// Send a Server Heartbeat after this much output silence (spec: 1 s).
    pub heartbeat_ns: u64,
    /// Drop the client after this much input silence (spec: 15 s).
    pub timeout_ns: u64,
    /// Sequenced messages kept for replay.
    pub store_capacity: usize,
}

impl SoupConfig {
    /// Spec defaults (1 s heartbeat, 15 s timeout) and a 100 000-message replay store.
    pub fn new(session_id: &[u8]) -> SoupConfig {
        SoupConfig {
            session_id: session_id.to_vec(),
            heartbeat_ns: 1_000_000_000,
            timeout_ns: 15_000_000_000,
            store_capacity: 100_000,
        }
    }
}

/// Connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SoupState {
    /// Connected, waiting for Login Request.
    AwaitingLogin,
    /// Logged in.
    Active,
    /// The connection must be closed.
    Closed,
}

/// What one packet produced besides the bytes appended to `out`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoupStep<'a> {
    /// An Unsequenced Data payload (one OUCH message) to decode.
    pub app: Option<&'a [u8]>,
    /// The login just succeeded.
    pub logged_in: bool,
    /// Close the connection (after writing `out`).
    pub disconnect: bool,
}

/// The SoupBinTCP server session. See the module docs.
#[derive(Clone, Debug)]
pub struct SoupSession {
    cfg: SoupConfig,
    state: SoupState,
    next_seq: u64,
    store: VecDeque<Vec<u8>>,
    last_sent: u64,
    last_recv: u64,
}

impl SoupSession {
    /// A new session: no messages yet, waiting for a login.
    pub fn new(cfg: SoupConfig) -> SoupSession {
        SoupSession {
            cfg,
            state: SoupState::AwaitingLogin,
            next_seq: 1,
            store: VecDeque::new(),
            last_sent: 0,
            last_recv: 0,
        }
    }

    /// Connection state.
    pub const fn state(&self) -> SoupState {
        self.state
    }

    /// Sequence number the next sequenced message will get.
    pub const fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn first_stored(&self) -> u64 {
        self.next_seq - self.store.len() as u64
    }

    fn put(&mut self, p: &Packet<'_>, now: u64, out: &mut Vec<u8>) {
        // Only oversized payloads fail to encode; callers pass OUCH messages (< 1 KiB).
        let _ = soupbin::encode(p, out);
        self.last_sent = now;
    }

    fn close<'a>(&mut self) -> SoupStep<'a> {
        self.state = SoupState::Closed;
        SoupStep {
            disconnect: true,
            ..SoupStep::default()
        }
    }

    /// Handle one decoded packet from the client. `auth(username, password)` decides the login.
    pub fn on_packet<'a>(
        &mut self,
        p: &Packet<'a>,
        now: u64,
        out: &mut Vec<u8>,
        auth: impl FnOnce(&[u8], &[u8]) -> bool,
    ) -> SoupStep<'a> {
        self.last_recv = now;
        match (self.state, *p) {
            (SoupState::Closed, _) => self.close(),
            (
                SoupState::AwaitingLogin,
                Packet::LoginRequest {
                    username,
                    password,
                    session,
                    sequence,
                },
            ) => {
                if !auth(username, password) {
                    self.put(
                        &Packet::LoginRejected(LoginRejectCode::NotAuthorized),
                        now,
                        out,
                    );
                    return self.close();
                }
                if !session.is_empty() && session != &self.cfg.session_id[..] {
                    self.put(
                        &Packet::LoginRejected(LoginRejectCode::SessionNotAvailable),
                        now,
                        out,
                    );
                    return self.close();
                }
                let start = if sequence == 0 {
                    self.next_seq
                } else {
                    sequence.clamp(self.first_stored(), self.next_seq)
                };
                let session_id = self.cfg.session_id.clone();
                self.put(
                    &Packet::LoginAccepted {
                        session: &session_id,
                        sequence: start,
                    },
                    now,
                    out,
                );
                let skip = (start - self.first_stored()) as usize;
                for m in self.store.iter().skip(skip) {
                    let _ = soupbin::encode(&Packet::SequencedData(m), out);
                }
                self.state = SoupState::Active;
                SoupStep {
                    logged_in: true,
                    ..SoupStep::default()
                }
            }
            (SoupState::AwaitingLogin, _) => self.close(),
            (SoupState::Active, Packet::UnsequencedData(d)) => SoupStep {
                app: Some(d),
                ..SoupStep::default()
            },
            (SoupState::Active, Packet::ClientHeartbeat | Packet::Debug(_)) => SoupStep::default(),
            (SoupState::Active, _) => self.close(),
        }
    }

    /// Send one sequenced message (an encoded OUCH outbound message) and keep it for replay.
    /// Only written to `out` while a client is logged in; stored either way. Returns its
    /// sequence number.
    pub fn send_sequenced(&mut self, payload: &[u8], now: u64, out: &mut Vec<u8>) -> u64 {
        let seq = self.next_seq;
        if self.state == SoupState::Active {
            self.put(&Packet::SequencedData(payload), now, out);
        }
        if self.cfg.store_capacity > 0 {
            if self.store.len() == self.cfg.store_capacity {
                self.store.pop_front();
            }
            self.store.push_back(payload.to_vec());
        }
        self.next_seq += 1;
        seq
    }

    /// End the session for good (End of Session packet), then close.
    pub fn end_of_session(&mut self, now: u64, out: &mut Vec<u8>) {
        if self.state == SoupState::Active {
            self.put(&Packet::EndOfSession, now, out);
        }
        self.state = SoupState::Closed;
    }

    /// Time passed. Returns true when the client is dead (no input for `timeout_ns`).
    pub fn on_timer(&mut self, now: u64, out: &mut Vec<u8>) -> bool {
        match self.state {
            SoupState::Closed => true,
            SoupState::AwaitingLogin => now.saturating_sub(self.last_recv) >= self.cfg.timeout_ns,
            SoupState::Active => {
                if now.saturating_sub(self.last_recv) >= self.cfg.timeout_ns {
                    self.state = SoupState::Closed;
                    return true;
                }
                if now.saturating_sub(self.last_sent) >= self.cfg.heartbeat_ns {
                    self.put(&Packet::ServerHeartbeat, now, out);
                }
                false
            }
        }
    }

    /// A new TCP connection for this session (after a disconnect): back to awaiting login at
    /// time `now`; messages and sequence numbers are kept.
    pub fn on_connect(&mut self, now: u64) {
        self.state = SoupState::AwaitingLogin;
        self.last_recv = now;
        self.last_sent = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soupbin::decode;

    fn packets(mut b: &[u8]) -> Vec<Packet<'_>> {
        let mut v = Vec::new();
        while let Ok(Some((p, n))) = decode(b) {
            v.push(p);
            b = &b[n..];
        }
        v
    }

    fn login(seq: u64) -> Packet<'static> {
        Packet::LoginRequest {
            username: b"ALICE",
            password: b"pw",
            session: b"",
            sequence: seq,
        }
    }

    fn ok(u: &[u8], p: &[u8]) -> bool {
        u == b"ALICE" && p == b"pw"
    }

    #[test]
    fn login_replay_heartbeat_logout() {
        let mut s = SoupSession::new(SoupConfig::new(b"S1"));
        let mut out = Vec::new();
        s.on_connect(0);
        assert!(s.on_packet(&login(0), 0, &mut out, ok).logged_in);
        assert_eq!(
            packets(&out),
            [Packet::LoginAccepted {
                session: b"S1",
                sequence: 1
            }]
        );
        out.clear();
        for m in [&b"A1"[..], b"A2", b"A3"] {
            s.send_sequenced(m, 10, &mut out);
        }
        assert_eq!(packets(&out).len(), 3);
        out.clear();
        let step = s.on_packet(&Packet::UnsequencedData(b"O..."), 20, &mut out, ok);
        assert_eq!(step.app, Some(&b"O..."[..]));
        // Heartbeat after 1 s without output.
        assert!(!s.on_timer(1_500_000_000, &mut out));
        assert_eq!(packets(&out), [Packet::ServerHeartbeat]);
        out.clear();
        assert!(
            s.on_packet(&Packet::LogoutRequest, 2, &mut out, ok)
                .disconnect
        );
        // Re-login asking for message 2: messages 2 and 3 are replayed.
        s.on_connect(100);
        s.on_packet(&login(2), 100, &mut out, ok);
        assert_eq!(
            packets(&out),
            [
                Packet::LoginAccepted {
                    session: b"S1",
                    sequence: 2
                },
                Packet::SequencedData(b"A2"),
                Packet::SequencedData(b"A3")
            ]
        );
        // Dead client.
        assert!(s.on_timer(100 + 15_000_000_000, &mut out));
    }

    #[test]
    fn login_rejections() {
        let mut s = SoupSession::new(SoupConfig::new(b"S1"));
        let mut out = Vec::new();
        assert!(s.on_packet(&login(0), 0, &mut out, |_, _| false).disconnect);
        assert_eq!(
            packets(&out),
            [Packet::LoginRejected(LoginRejectCode::NotAuthorized)]
        );
        out.clear();
        s.on_connect(0);
        let other = Packet::LoginRequest {
            username: b"ALICE",
            password: b"pw",
            session: b"S2",
            sequence: 0,
        };
        assert!(s.on_packet(&other, 0, &mut out, ok).disconnect);
        assert_eq!(
            packets(&out),
            [Packet::LoginRejected(LoginRejectCode::SessionNotAvailable)]
        );
        out.clear();
        s.on_connect(0);
        assert!(
            s.on_packet(&Packet::UnsequencedData(b"x"), 0, &mut out, ok)
                .disconnect,
            "data before login"
        );
    }
}
