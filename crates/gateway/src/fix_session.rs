//! The FIX 4.4 session layer (acceptor side) as a pure, I/O-free state machine.
//!
//! The server thread frames bytes ([`crate::fix::frame`]), hands each framed message to
//! [`Session::on_message`] with the current time, writes whatever the session appended to `out`,
//! delivers returned application messages to the order mapping, and closes the socket when told.
//! It calls [`Session::on_timer`] periodically (heartbeats, TestRequest, dead-peer detection) and
//! [`Session::on_disconnect`] when the socket closes. Every outgoing message goes through the
//! session so sequence numbers stay right ([`Session::send`]).
//!
//! Behaviour (FIX 4.4 session rules, as QuickFIX's acceptance suite checks them):
//! - The first message must be a valid Logon with the configured CompIDs, an accurate
//!   SendingTime and (when configured) the right Username 553 / Password 554; otherwise the
//!   connection is dropped (a credentials failure first gets a Logout with a reason).
//!   ResetSeqNumFlag 141 = Y (also in the middle of a session) resets both sequence numbers.
//!   The reply carries 98 = 0 and the client's 108.
//! - Garbled messages (bad BeginString, BodyLength, CheckSum, field syntax) are ignored and do
//!   not consume a sequence number; a garbled first message drops the connection.
//! - MsgSeqNum too high → ResendRequest (7 = expected, 16 = 0) and the message is queued
//!   ([`Session::take_queued`] gives queued messages back once the gap is filled; more than
//!   [`MAX_QUEUED`] waiting → Logout and disconnect); too low
//!   without PossDupFlag → Logout "MsgSeqNum too low, expecting X but received Y" and disconnect;
//!   too low with PossDupFlag → ignored (Reject when OrigSendingTime 122 is missing or later than
//!   SendingTime), except that a re-sent SequenceReset-GapFill answering our ResendRequest
//!   (numbered at most up to the queued message that triggered it) whose NewSeqNo is above the
//!   expected number still moves it there.
//! - Header checks: 49 / 56 / 34 / 52 present, CompIDs right (else Reject 373 = 9 + Logout),
//!   SendingTime within `max_latency` (else Reject 373 = 10 + Logout).
//! - Field problems found by the parser (invalid tag number, tag without value, repeated tag,
//!   header field out of order), an invalid MsgType, a value in the wrong format for its
//!   dictionary type (373 = 6: integers, decimals without `+`, UTCTimestamps, CHAR, BOOLEAN) or
//!   outside its field's enumerated values (373 = 5, e.g. HandlInst 21 = 4, SecurityType 167 =
//!   BOO; FIX 4.4 dictionary in [`crate::fix_dict`]), a repeating group whose first entry does
//!   not start with the group's delimiter field (373 = 99, QuickFIX's wording in Text 58), or
//!   an application message type the venue does not take get a session Reject (or
//!   BusinessMessageReject 380 = 3) and consume the sequence number.
//! - TestRequest → Heartbeat with its TestReqID; ResendRequest → the stored application messages
//!   of the range again (PossDupFlag 43 = Y, OrigSendingTime 122), admin messages and anything
//!   older than the store covered by SequenceReset-GapFill;
//!   SequenceReset-GapFill / Reset move the expected number (a lower NewSeqNo → Reject 373 = 5);
//!   Logout → Logout reply, then disconnect.
//! - Timers: a Heartbeat after HeartBtInt without sending (none while a TestRequest is
//!   outstanding); a TestRequest after HeartBtInt × 1.2 without receiving; disconnect after
//!   HeartBtInt × 2.4 of silence.
//!
//! Echo mode ([`SessionConfig::echo_application`], off by default; a test harness, never for
//! production): the session plays QuickFIX's acceptance-test application on top of the session
//! layer, so the QuickFIX acceptance scripts can be run against it unchanged. Application
//! messages are then not handed to the caller (nothing reaches the engine); instead, after the
//! session checks and the dictionary's required-field check
//! ([`crate::fix_dict::required_body_tags`], Reject 373 = 1):
//! - NewOrderSingle D, SecurityDefinition d, QuoteRequest R are echoed back: same MsgType, our
//!   header (SenderCompID, TargetCompID, next MsgSeqNum, SendingTime), the other header fields
//!   received (PossResend 97, MessageEncoding 347, …) and the body fields as received but
//!   ordered by tag, as QuickFIX serialises a message (a repeating group, from its NumInGroup
//!   counter to the end of the message, moves as one block). A D with PossResend 97 = Y whose
//!   ClOrdID was already seen on the connection is not echoed again.
//! - News B whose Headline 148 starts with `echo:` gets a News with the rest of the headline
//!   (and MessageEncoding 347 / EncodedHeadline 359 when present); other News get nothing.
//! - TradeCaptureReportRequest AD gets nothing; XMLnonFIX n gets a News "Successfully received
//!   'n' message with seqNo=N".
//! - Other application types: BusinessMessageReject 380 = 3, as in venue mode.
//!
//! Echoed and answered messages are sent through [`Session::send`]'s path, so they are stored
//! and re-sent with PossDupFlag on a ResendRequest like any other application message.
//!
//! Costs: O(message) per message; allocates for queued out-of-order messages and for the
//! bounded store of sent application messages (`resend_store`, 0 disables it).

use crate::fix::{self, FieldError, Header, Message, SessionReject, reject_reason, tag};
use smallvec::SmallVec;
use std::collections::BTreeMap;

/// Session parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our CompID (SenderCompID 49 on what we send).
    pub sender_comp_id: Vec<u8>,
    /// The counterparty's CompID.
    pub target_comp_id: Vec<u8>,
    /// Username / password required on Logon, if any.
    pub credentials: Option<(Vec<u8>, Vec<u8>)>,
    /// Largest allowed |SendingTime − now| in nanoseconds (QuickFIX default: 120 s).
    pub max_latency_ns: u64,
    /// Application message types the venue accepts (others get BusinessMessageReject 380 = 3).
    pub app_msg_types: Vec<Vec<u8>>,
    /// How many sent application messages to keep for answering ResendRequest (PossDup
    /// re-send); older ones and all admin messages are gap-filled.
    pub resend_store: usize,
    /// Test harness only, never in production: play QuickFIX's acceptance-test application,
    /// which echoes application messages back (see the module docs), instead of handing them
    /// to the caller. `app_msg_types` is then ignored. Default false.
    pub echo_application: bool,
    /// Start both sequence numbers at 1 on every new connection (QuickFIX's
    /// ResetOnDisconnect, which the acceptance suite assumes). When false, numbers and the
    /// resend store survive reconnects (a client catches up with ResendRequest).
    pub reset_on_disconnect: bool,
}

impl SessionConfig {
    /// Acceptor config with QuickFIX's defaults and the order-entry message types D, F, G.
    pub fn new(sender_comp_id: &[u8], target_comp_id: &[u8]) -> SessionConfig {
        SessionConfig {
            sender_comp_id: sender_comp_id.to_vec(),
            target_comp_id: target_comp_id.to_vec(),
            credentials: None,
            max_latency_ns: 120_000_000_000,
            app_msg_types: vec![b"D".to_vec(), b"F".to_vec(), b"G".to_vec()],
            resend_store: 10_000,
            reset_on_disconnect: true,
            echo_application: false,
        }
    }
}

/// Where the session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Connected, waiting for Logon.
    AwaitingLogon,
    /// Logged on.
    Active,
    /// We sent Logout and wait for the reply.
    LogoutSent,
    /// The connection must be closed (or is closed).
    Disconnected,
}

/// What one input produced besides the bytes appended to `out`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Step<'a> {
    /// An in-sequence application message to hand to the order mapping.
    pub app: Option<Message<'a>>,
    /// Close the connection now (after writing `out`).
    pub disconnect: bool,
}

/// The FIX session state machine. See the module docs.
#[derive(Clone, Debug)]
pub struct Session {
    cfg: SessionConfig,
    state: SessionState,
    next_in: u64,
    next_out: u64,
    heart_bt_ns: u64,
    last_recv: u64,
    last_sent: u64,
    test_request_at: Option<u64>,
    queue: BTreeMap<u64, Vec<u8>>,
    resend_pending: Option<u64>,
    sent: BTreeMap<u64, Stored>,
    /// Echo mode: ClOrdIDs of the NewOrderSingles seen on this connection.
    echo_cl_ord_ids: std::collections::HashSet<Vec<u8>>,
}

/// A sent application message kept for re-sending.
#[derive(Clone, Debug)]
struct Stored {
    msg_type: Vec<u8>,
    /// Header fields beyond the session's own (ascending by tag; echo mode only).
    extra: Vec<(u32, Vec<u8>)>,
    body: Vec<u8>,
    sending_time: u64,
}

/// Out-of-sequence messages kept while waiting for a gap fill; more end the session (a client
/// cannot make the gateway buffer without bound).
pub const MAX_QUEUED: usize = 10_000;

/// All valid FIX 4.4 MsgType values.
const FIX44_MSG_TYPES: &[&[u8]] = &[
    b"0", b"A", b"1", b"2", b"3", b"4", b"5", b"n", b"j", b"BE", b"BF", b"7", b"6", b"B", b"C",
    b"R", b"AJ", b"AG", b"AH", b"S", b"Z", b"a", b"AI", b"i", b"b", b"V", b"W", b"X", b"Y", b"c",
    b"d", b"v", b"w", b"x", b"y", b"z", b"AA", b"e", b"f", b"g", b"h", b"D", b"8", b"Q", b"G",
    b"F", b"9", b"H", b"q", b"r", b"AF", b"s", b"t", b"u", b"AB", b"AC", b"k", b"l", b"E", b"m",
    b"N", b"L", b"K", b"M", b"J", b"P", b"AS", b"AT", b"AK", b"AU", b"BH", b"T", b"AV", b"AD",
    b"AQ", b"AE", b"AR", b"o", b"p", b"AL", b"AM", b"AN", b"AO", b"AP", b"AW", b"AX", b"AY", b"AZ",
    b"BA", b"BB", b"BC", b"BD", b"BG",
];

/// NumInGroup tags whose presence means repeated tags are legitimate (group members).
const GROUP_COUNT_TAGS: &[u32] = &[
    73, 78, 146, 232, 382, 386, 453, 454, 539, 555, 711, 802, 864,
];

/// QuickFIX's Text (58) for a SessionRejectReason.
pub const fn reject_text(reason: u32) -> &'static str {
    match reason {
        reject_reason::INVALID_TAG_NUMBER => "Invalid tag number",
        reject_reason::REQUIRED_TAG_MISSING => "Required tag missing",
        reject_reason::TAG_NOT_DEFINED_FOR_MSG_TYPE => "Tag not defined for this message type",
        reject_reason::UNDEFINED_TAG => "Undefined Tag",
        reject_reason::TAG_WITHOUT_VALUE => "Tag specified without a value",
        reject_reason::VALUE_INCORRECT => "Value is incorrect (out of range) for this tag",
        reject_reason::INCORRECT_DATA_FORMAT => "Incorrect data format for value",
        reject_reason::COMP_ID_PROBLEM => "CompID problem",
        reject_reason::SENDING_TIME_ACCURACY => "SendingTime accuracy problem",
        reject_reason::INVALID_MSG_TYPE => "Invalid MsgType",
        reject_reason::TAG_APPEARS_MORE_THAN_ONCE => "Tag appears more than once",
        reject_reason::TAG_OUT_OF_ORDER => "Tag specified out of required order",
        reject_reason::REPEATING_GROUP_OUT_OF_ORDER => "Repeating group fields out of order",
        reject_reason::INCORRECT_NUM_IN_GROUP => "Incorrect NumInGroup count for repeating group",
        _ => "Other",
    }
}

impl Session {
    /// A session waiting for Logon, sequence numbers at 1.
    pub fn new(cfg: SessionConfig) -> Session {
        Session {
            cfg,
            state: SessionState::AwaitingLogon,
            next_in: 1,
            next_out: 1,
            heart_bt_ns: 30_000_000_000,
            last_recv: 0,
            last_sent: 0,
            test_request_at: None,
            queue: BTreeMap::new(),
            resend_pending: None,
            sent: BTreeMap::new(),
            echo_cl_ord_ids: std::collections::HashSet::new(),
        }
    }

    /// Current state.
    pub const fn state(&self) -> SessionState {
        self.state
    }
    /// MsgSeqNum expected on the next incoming message.
    pub const fn next_in(&self) -> u64 {
        self.next_in
    }
    /// MsgSeqNum of the next outgoing message.
    pub const fn next_out(&self) -> u64 {
        self.next_out
    }

    fn header(&self, now: u64, seq: u64, poss_dup: Option<u64>) -> Header<'_> {
        Header {
            sender: &self.cfg.sender_comp_id,
            target: &self.cfg.target_comp_id,
            seq,
            sending_time: now,
            poss_dup,
            extra: &[],
        }
    }

    /// Send one message through the session: stamps the header with the next MsgSeqNum and
    /// appends it to `out`. Used for application messages (ExecutionReport, …), which are kept
    /// (up to `resend_store`) to answer a ResendRequest. Returns the message length.
    pub fn send(
        &mut self,
        msg_type: &[u8],
        now: u64,
        out: &mut Vec<u8>,
        body: impl FnOnce(&mut fix::Body<'_>),
    ) -> usize {
        self.send_with_header(msg_type, &[], now, out, body)
    }

    /// [`Session::send`] with further header fields (`extra`, ascending by tag), which are
    /// stored with the message for re-sending.
    fn send_with_header(
        &mut self,
        msg_type: &[u8],
        extra: &[(u32, &[u8])],
        now: u64,
        out: &mut Vec<u8>,
        body: impl FnOnce(&mut fix::Body<'_>),
    ) -> usize {
        let seq = self.next_out;
        let n = if self.cfg.resend_store > 0 {
            let mut stored = Vec::new();
            fix::write_body(&mut stored, body);
            let h = Header {
                extra,
                ..self.header(now, seq, None)
            };
            let n = fix::encode(out, &h, msg_type, |b| {
                b.raw(&stored);
            });
            self.sent.insert(
                seq,
                Stored {
                    msg_type: msg_type.to_vec(),
                    extra: extra.iter().map(|&(t, v)| (t, v.to_vec())).collect(),
                    body: stored,
                    sending_time: now,
                },
            );
            while self.sent.len() > self.cfg.resend_store {
                self.sent.pop_first();
            }
            n
        } else {
            let h = Header {
                extra,
                ..self.header(now, seq, None)
            };
            fix::encode(out, &h, msg_type, body)
        };
        self.next_out += 1;
        self.last_sent = now;
        n
    }

    /// Answer a ResendRequest for `begin..=end` (0 = up to the last sent): stored application
    /// messages go out again with PossDupFlag and OrigSendingTime, everything else is covered
    /// by SequenceReset-GapFill messages.
    fn resend(&mut self, begin: u64, end: u64, now: u64, out: &mut Vec<u8>) {
        let last = self.next_out - 1;
        let end = if end == 0 || end > last { last } else { end };
        let begin = begin.max(1);
        if begin > end {
            return;
        }
        let mut gap_start: Option<u64> = None;
        for seq in begin..=end {
            match self.sent.get(&seq) {
                Some(st) => {
                    if let Some(g) = gap_start.take() {
                        let h = self.header(now, g, Some(now));
                        fix::sequence_reset(out, &h, seq, true);
                    }
                    let extra: SmallVec<[(u32, &[u8]); 4]> =
                        st.extra.iter().map(|(t, v)| (*t, &v[..])).collect();
                    let h = Header {
                        extra: &extra,
                        ..self.header(now, seq, Some(st.sending_time))
                    };
                    fix::encode(out, &h, &st.msg_type, |b| {
                        b.raw(&st.body);
                    });
                }
                None => {
                    gap_start.get_or_insert(seq);
                }
            }
        }
        if let Some(g) = gap_start {
            let h = self.header(now, g, Some(now));
            fix::sequence_reset(out, &h, end + 1, true);
        }
        self.last_sent = now;
    }

    fn send_reject(&mut self, now: u64, out: &mut Vec<u8>, r: &SessionReject<'_>) {
        self.send_reject_routed(now, out, r, &[]);
    }

    fn send_reject_routed(
        &mut self,
        now: u64,
        out: &mut Vec<u8>,
        r: &SessionReject<'_>,
        route: &[(u32, &[u8])],
    ) {
        let h = Header {
            extra: route,
            ..self.header(now, self.next_out, None)
        };
        fix::reject(out, &h, r);
        self.next_out += 1;
        self.last_sent = now;
    }

    fn send_logout(&mut self, now: u64, out: &mut Vec<u8>, text: Option<&[u8]>) {
        let h = self.header(now, self.next_out, None);
        fix::logout(out, &h, text);
        self.next_out += 1;
        self.last_sent = now;
    }

    /// Reject an application message the mapping found a field problem in (session Reject with
    /// RefSeqNum, RefTagID, RefMsgType and SessionRejectReason; routing fields reversed).
    pub fn reject_field(&mut self, msg: &Message<'_>, e: &FieldError, now: u64, out: &mut Vec<u8>) {
        let reason = e.session_reject_reason();
        let route = reverse_route(msg);
        self.send_reject_routed(
            now,
            out,
            &SessionReject {
                ref_seq_num: msg.seq_num().unwrap_or(0),
                ref_tag: Some(i64::from(e.tag())),
                ref_msg_type: Some(msg.msg_type()),
                reason: Some(reason),
                text: Some(reject_text(reason).as_bytes()),
            },
            &route,
        );
    }

    /// The socket closed: back to awaiting Logon. Sequence numbers and the resend store reset
    /// when `reset_on_disconnect` is set, else they carry over to the next connection.
    pub fn on_disconnect(&mut self) {
        if self.cfg.reset_on_disconnect {
            let cfg = core::mem::replace(&mut self.cfg, SessionConfig::new(b"", b""));
            *self = Session::new(cfg);
        } else {
            self.state = SessionState::AwaitingLogon;
            self.queue.clear();
            self.resend_pending = None;
            self.test_request_at = None;
            self.echo_cl_ord_ids.clear();
        }
    }

    /// A queued out-of-order message whose turn has come (after a gap fill); feed it back into
    /// [`Session::on_message`]. Allocation-free when nothing is queued.
    pub fn take_queued(&mut self) -> Option<Vec<u8>> {
        if self.state != SessionState::Active {
            return None;
        }
        let (&first, _) = self.queue.first_key_value()?;
        if first <= self.next_in {
            self.queue.remove(&first)
        } else {
            None
        }
    }

    /// Time passed: heartbeats, TestRequest, dead-peer detection. Returns true when the
    /// connection must be closed.
    pub fn on_timer(&mut self, now: u64, out: &mut Vec<u8>) -> bool {
        if !matches!(self.state, SessionState::Active | SessionState::LogoutSent) {
            return self.state == SessionState::Disconnected;
        }
        let hb = self.heart_bt_ns;
        if hb == 0 {
            return false;
        }
        let silent = now.saturating_sub(self.last_recv);
        if silent >= hb * 12 / 5 {
            self.state = SessionState::Disconnected;
            return true;
        }
        if self.test_request_at.is_none() && silent >= hb * 6 / 5 {
            let h = self.header(now, self.next_out, None);
            fix::test_request(out, &h, b"TEST");
            self.next_out += 1;
            self.last_sent = now;
            self.test_request_at = Some(now);
        } else if self.test_request_at.is_none() && now.saturating_sub(self.last_sent) >= hb {
            let h = self.header(now, self.next_out, None);
            fix::heartbeat(out, &h, None);
            self.next_out += 1;
            self.last_sent = now;
        }
        false
    }

    /// One framed incoming message (exactly one message's bytes). Appends replies to `out`.
    pub fn on_message<'a>(&mut self, bytes: &'a [u8], now: u64, out: &mut Vec<u8>) -> Step<'a> {
        let mut step = Step::default();
        if self.state == SessionState::Disconnected {
            step.disconnect = true;
            return step;
        }
        let msg = match fix::parse(bytes) {
            Ok(m) => m,
            Err(fix::FixError::WrongBeginString { .. })
                if self.state != SessionState::AwaitingLogon =>
            {
                let end = bytes
                    .iter()
                    .position(|&b| b == fix::SOH)
                    .unwrap_or(bytes.len());
                let got = String::from_utf8_lossy(bytes.get(2..end).unwrap_or_default());
                let text = format!("Incorrect BeginString ({got})");
                self.send_logout(now, out, Some(text.as_bytes()));
                return self.drop_connection();
            }
            Err(_) => {
                // Garbled: ignore; a garbled first message ends the connection.
                if self.state == SessionState::AwaitingLogon {
                    return self.drop_connection();
                }
                return step;
            }
        };
        self.last_recv = now;
        self.test_request_at = None;
        let msg_type = msg.msg_type();
        let seq = msg.seq_num();

        if self.state == SessionState::AwaitingLogon {
            return self.on_logon(&msg, now, out);
        }

        // Required header fields.
        for t in [
            tag::SENDER_COMP_ID,
            tag::TARGET_COMP_ID,
            tag::MSG_SEQ_NUM,
            tag::SENDING_TIME,
        ] {
            if msg.get(t).is_none() {
                if t == tag::MSG_SEQ_NUM {
                    // Without a sequence number the message cannot be placed: logout.
                    self.send_logout(now, out, Some(b"Received message without MsgSeqNum"));
                    return self.drop_connection();
                }
                self.send_reject(
                    now,
                    out,
                    &SessionReject {
                        ref_seq_num: seq.unwrap_or(0),
                        ref_tag: Some(i64::from(t)),
                        ref_msg_type: Some(msg_type),
                        reason: Some(reject_reason::REQUIRED_TAG_MISSING),
                        text: Some(reject_text(reject_reason::REQUIRED_TAG_MISSING).as_bytes()),
                    },
                );
                if seq == Some(self.next_in) {
                    self.next_in += 1;
                }
                return step;
            }
        }
        let Some(seq) = seq else {
            self.send_logout(now, out, Some(b"Received message without MsgSeqNum"));
            return self.drop_connection();
        };

        // SequenceReset in reset mode ignores sequence numbers.
        if msg_type == b"4" && msg.get(tag::GAP_FILL_FLAG) != Some(b"Y") {
            return self.on_sequence_reset(&msg, seq, now, out);
        }
        // Logon with ResetSeqNumFlag while logged on: both sides restart at 1.
        if msg_type == b"A" && msg.get(tag::RESET_SEQ_NUM_FLAG) == Some(b"Y") {
            self.next_in = 1;
            self.next_out = 1;
            self.queue.clear();
            self.resend_pending = None;
            self.state = SessionState::AwaitingLogon;
            let mut s = self.on_logon(&msg, now, out);
            s.app = None;
            return s;
        }
        // Field-level problems of the in-sequence message come before profile checks.
        if seq == self.next_in && self.send_field_reject(&msg, seq, now, out) {
            return step;
        }

        // SendingTime accuracy and CompIDs.
        let sending_time = msg.get_time(tag::SENDING_TIME).ok().flatten();
        if sending_time.is_none_or(|t| t.abs_diff(now) > self.cfg.max_latency_ns) {
            return self.reject_and_logout(
                seq,
                msg_type,
                reject_reason::SENDING_TIME_ACCURACY,
                now,
                out,
            );
        }
        if msg.get(tag::SENDER_COMP_ID) != Some(&self.cfg.target_comp_id[..])
            || msg.get(tag::TARGET_COMP_ID) != Some(&self.cfg.sender_comp_id[..])
        {
            return self.reject_and_logout(seq, msg_type, reject_reason::COMP_ID_PROBLEM, now, out);
        }

        // Logout and ResendRequest are handled whatever their sequence number.
        if msg_type == b"5" {
            if seq == self.next_in {
                self.next_in += 1;
            }
            if self.state != SessionState::LogoutSent {
                self.send_logout(now, out, None);
            }
            return self.drop_connection();
        }
        if msg_type == b"2" {
            if seq == self.next_in {
                self.next_in += 1;
            }
            let begin = msg.get_u64(tag::BEGIN_SEQ_NO).ok().flatten().unwrap_or(1);
            let end = msg.get_u64(tag::END_SEQ_NO).ok().flatten().unwrap_or(0);
            self.resend(begin, end, now, out);
            if seq > self.next_in {
                self.queue.remove(&seq);
            }
            return step;
        }

        // Sequence number.
        if seq > self.next_in {
            if msg_type == b"5" {
                // Logout with a gap: answer and leave.
                self.send_logout(now, out, None);
                return self.drop_connection();
            }
            if self.queue.len() >= MAX_QUEUED && !self.queue.contains_key(&seq) {
                self.send_logout(now, out, Some(b"Too many out-of-sequence messages"));
                return self.drop_connection();
            }
            self.queue.entry(seq).or_insert_with(|| bytes.to_vec());
            if self.resend_pending.is_none_or(|p| p < self.next_in) {
                let h = self.header(now, self.next_out, None);
                fix::resend_request(out, &h, self.next_in, 0);
                self.next_out += 1;
                self.last_sent = now;
                self.resend_pending = Some(seq);
            }
            return step;
        }
        if seq < self.next_in {
            if msg.poss_dup() {
                match msg.get_time(tag::ORIG_SENDING_TIME) {
                    Ok(None) | Err(_) => {
                        self.send_reject(
                            now,
                            out,
                            &SessionReject {
                                ref_seq_num: seq,
                                ref_tag: Some(i64::from(tag::ORIG_SENDING_TIME)),
                                ref_msg_type: Some(msg_type),
                                reason: Some(reject_reason::REQUIRED_TAG_MISSING),
                                text: Some(
                                    reject_text(reject_reason::REQUIRED_TAG_MISSING).as_bytes(),
                                ),
                            },
                        );
                    }
                    Ok(Some(orig)) if sending_time.is_some_and(|s| orig > s) => {
                        return self.reject_and_logout(
                            seq,
                            msg_type,
                            reject_reason::SENDING_TIME_ACCURACY,
                            now,
                            out,
                        );
                    }
                    Ok(Some(_)) => {
                        // A re-sent GapFill answering our last ResendRequest (at most up to
                        // the message that triggered it, which was queued and has been
                        // processed) that reaches past the expected number moves it: the
                        // sender is still resending and skips admin messages we already
                        // counted (QuickFIX issue 309). Outside a resend it is ignored.
                        if msg_type == b"4"
                            && self
                                .resend_pending
                                .is_some_and(|p| seq <= p && p.saturating_add(1) >= self.next_in)
                            && let Ok(Some(n)) = msg.get_u64(tag::NEW_SEQ_NO)
                            && n > self.next_in
                        {
                            self.next_in = n;
                            self.queue.retain(|&k, _| k >= n);
                        }
                    }
                }
                return step;
            }
            let text = format!(
                "MsgSeqNum too low, expecting {} but received {}",
                self.next_in, seq
            );
            self.send_logout(now, out, Some(text.as_bytes()));
            return self.drop_connection();
        }

        // In sequence.
        if self.send_field_reject(&msg, seq, now, out) {
            return step;
        }

        self.next_in += 1;
        match msg_type {
            b"0" | b"3" => {}
            b"1" => {
                let id = msg.get(tag::TEST_REQ_ID);
                let h = self.header(now, self.next_out, None);
                fix::heartbeat(out, &h, id);
                self.next_out += 1;
                self.last_sent = now;
            }
            b"4" => {
                // Gap fill (reset mode handled above).
                let new_seq = msg.get_u64(tag::NEW_SEQ_NO).ok().flatten().unwrap_or(0);
                if new_seq > self.next_in {
                    self.next_in = new_seq;
                } else if new_seq < self.next_in {
                    self.send_reject(
                        now,
                        out,
                        &SessionReject {
                            ref_seq_num: seq,
                            ref_tag: Some(i64::from(tag::NEW_SEQ_NO)),
                            ref_msg_type: Some(b"4"),
                            reason: Some(reject_reason::VALUE_INCORRECT),
                            text: Some(reject_text(reject_reason::VALUE_INCORRECT).as_bytes()),
                        },
                    );
                }
            }
            b"A" => {
                // Logon while logged on: ignore (QuickFIX logs it).
            }
            t if self.cfg.echo_application => {
                self.echo_application(&msg, t, seq, now, out);
            }
            t if self.cfg.app_msg_types.iter().any(|a| a == t) => {
                step.app = Some(msg);
            }
            t => {
                let h = self.header(now, self.next_out, None);
                fix::business_message_reject(
                    out,
                    &h,
                    seq,
                    t,
                    None,
                    3,
                    Some(b"Unsupported Message Type"),
                );
                self.next_out += 1;
                self.last_sent = now;
            }
        }
        step
    }

    /// Reject the in-sequence message `msg` (consuming its number) if its fields call for it:
    /// a repeating group whose first entry does not start with the group's delimiter (Reject
    /// 373 = 99 "Group N's first entry does not start with delimiter D", as QuickFIX words it),
    /// then [`Session::field_reject`]. Returns whether it was rejected.
    fn send_field_reject(
        &mut self,
        msg: &Message<'_>,
        seq: u64,
        now: u64,
        out: &mut Vec<u8>,
    ) -> bool {
        let route = reverse_route(msg);
        if msg.problem().is_none()
            && let Some((counter, delimiter)) = group_delimiter_problem(msg.fields())
        {
            let text =
                format!("Group {counter}'s first entry does not start with delimiter {delimiter}");
            self.next_in += 1;
            self.send_reject_routed(
                now,
                out,
                &SessionReject {
                    ref_seq_num: seq,
                    ref_tag: Some(i64::from(counter)),
                    ref_msg_type: Some(msg.msg_type()),
                    reason: Some(reject_reason::OTHER),
                    text: Some(text.as_bytes()),
                },
                &route,
            );
            return true;
        }
        if let Some(r) = self.field_reject(msg, seq) {
            self.next_in += 1;
            self.send_reject_routed(now, out, &r, &route);
            return true;
        }
        false
    }

    /// The session Reject an in-sequence message deserves for its fields, if any: parser
    /// problems, undefined tags, tags not defined for an admin message, invalid MsgType,
    /// repeated tags.
    fn field_reject<'m>(&self, msg: &Message<'m>, seq: u64) -> Option<SessionReject<'m>> {
        let msg_type = msg.msg_type();
        let r = |tag: Option<i64>, reason: u32| SessionReject {
            ref_seq_num: seq,
            ref_tag: tag,
            ref_msg_type: Some(msg_type),
            reason: Some(reason),
            text: Some(reject_text(reason).as_bytes()),
        };
        if let Some(p) = msg.problem() {
            return Some(r(Some(p.tag()), p.session_reject_reason()));
        }
        if let Some(f) = msg.fields().iter().find(|f| !is_fix44_tag(f.tag)) {
            return Some(r(Some(i64::from(f.tag)), reject_reason::INVALID_TAG_NUMBER));
        }
        if !FIX44_MSG_TYPES.contains(&msg_type) {
            return Some(r(None, reject_reason::INVALID_MSG_TYPE));
        }
        let fields = msg.fields();
        // Per field, in message order (as QuickFIX's dictionary validates): format, then value.
        for f in fields.iter().filter(|f| !matches!(f.tag, 8..=10)) {
            if !crate::fix_dict::value_format_ok(f.tag, f.value) {
                return Some(r(
                    Some(i64::from(f.tag)),
                    reject_reason::INCORRECT_DATA_FORMAT,
                ));
            }
            if !crate::fix_dict::value_in_enum(f.tag, f.value) {
                return Some(r(Some(i64::from(f.tag)), reject_reason::VALUE_INCORRECT));
            }
        }
        if let Some(t) = bad_group_count(fields) {
            return Some(r(Some(i64::from(t)), reject_reason::INCORRECT_NUM_IN_GROUP));
        }
        if let Some(allowed) = admin_body_tags(msg_type)
            && let Some(f) = msg.fields().iter().find(|f| {
                !fix::is_header_tag(f.tag)
                    && !matches!(
                        f.tag,
                        tag::BEGIN_STRING | tag::BODY_LENGTH | tag::CHECK_SUM | 89 | 93
                    )
                    && !allowed.contains(&f.tag)
            })
        {
            return Some(r(
                Some(i64::from(f.tag)),
                reject_reason::TAG_NOT_DEFINED_FOR_MSG_TYPE,
            ));
        }
        if let Some(t) = repeated_tag(msg) {
            return Some(r(
                Some(i64::from(t)),
                reject_reason::TAG_APPEARS_MORE_THAN_ONCE,
            ));
        }
        // Required body fields: venue mode leaves them to the order mapping (D/F/G); the echo
        // application's dictionary checks the types it answers.
        if self.cfg.echo_application
            && let Some(&t) = crate::fix_dict::required_body_tags(msg_type)
                .iter()
                .find(|&&t| msg.get(t).is_none())
        {
            return Some(r(Some(i64::from(t)), reject_reason::REQUIRED_TAG_MISSING));
        }
        None
    }

    /// Echo mode: answer an in-sequence application message as QuickFIX's acceptance-test
    /// application does (see the module docs).
    fn echo_application(
        &mut self,
        msg: &Message<'_>,
        msg_type: &[u8],
        seq: u64,
        now: u64,
        out: &mut Vec<u8>,
    ) {
        match msg_type {
            b"D" | b"d" | b"R" => {
                if msg_type == b"D" {
                    let id = msg.get(tag::CL_ORD_ID).unwrap_or_default().to_vec();
                    let poss_resend = msg.get(tag::POSS_RESEND) == Some(b"Y");
                    if !self.echo_cl_ord_ids.insert(id) && poss_resend {
                        return;
                    }
                }
                let mut extra: SmallVec<[(u32, &[u8]); 4]> = msg
                    .fields()
                    .iter()
                    .filter(|f| fix::is_header_tag(f.tag) && !SESSION_HEADER_TAGS.contains(&f.tag))
                    .map(|f| (f.tag, f.value))
                    .collect();
                extra.sort_by_key(|&(t, _)| t);
                let body = echo_body_order(msg.fields());
                self.send_with_header(msg_type, &extra, now, out, |b| {
                    for f in &body {
                        b.bytes(f.tag, f.value);
                    }
                });
            }
            b"B" => {
                let Some(text) = msg.get(148).and_then(|h| h.strip_prefix(b"echo:")) else {
                    return;
                };
                let start = text
                    .iter()
                    .position(|c| !c.is_ascii_whitespace())
                    .unwrap_or(text.len());
                let text = &text[start..];
                let extra: SmallVec<[(u32, &[u8]); 1]> =
                    msg.get(347).map(|e| (347, e)).into_iter().collect();
                let encoded = msg.get(359);
                self.send_with_header(b"B", &extra, now, out, |b| {
                    b.bytes(148, text);
                    if let Some(v) = encoded {
                        b.bytes(359, v);
                    }
                });
            }
            b"AD" => {}
            b"n" => {
                let text = format!("Successfully received 'n' message with seqNo={seq}");
                self.send(b"B", now, out, |b| {
                    b.bytes(148, text.as_bytes());
                });
            }
            t => {
                let h = self.header(now, self.next_out, None);
                fix::business_message_reject(
                    out,
                    &h,
                    seq,
                    t,
                    None,
                    3,
                    Some(b"Unsupported Message Type"),
                );
                self.next_out += 1;
                self.last_sent = now;
            }
        }
    }

    fn drop_connection<'a>(&mut self) -> Step<'a> {
        self.state = SessionState::Disconnected;
        Step {
            app: None,
            disconnect: true,
        }
    }

    fn reject_and_logout<'a>(
        &mut self,
        seq: u64,
        msg_type: &[u8],
        reason: u32,
        now: u64,
        out: &mut Vec<u8>,
    ) -> Step<'a> {
        self.send_reject(
            now,
            out,
            &SessionReject {
                ref_seq_num: seq,
                ref_tag: None,
                ref_msg_type: Some(msg_type),
                reason: Some(reason),
                text: Some(reject_text(reason).as_bytes()),
            },
        );
        self.send_logout(now, out, None);
        if seq == self.next_in {
            self.next_in += 1;
        }
        self.state = SessionState::LogoutSent;
        Step::default()
    }

    fn on_sequence_reset<'a>(
        &mut self,
        msg: &Message<'_>,
        seq: u64,
        now: u64,
        out: &mut Vec<u8>,
    ) -> Step<'a> {
        match msg.get_u64(tag::NEW_SEQ_NO) {
            Ok(Some(n)) if n >= self.next_in => self.next_in = n,
            _ => {
                self.send_reject(
                    now,
                    out,
                    &SessionReject {
                        ref_seq_num: seq,
                        ref_tag: None,
                        ref_msg_type: Some(b"4"),
                        reason: Some(reject_reason::VALUE_INCORRECT),
                        text: Some(reject_text(reject_reason::VALUE_INCORRECT).as_bytes()),
                    },
                );
            }
        }
        Step::default()
    }

    fn on_logon<'a>(&mut self, msg: &Message<'_>, now: u64, out: &mut Vec<u8>) -> Step<'a> {
        if msg.msg_type() != b"A" || msg.problem().is_some() {
            return self.drop_connection();
        }
        let comp_ok = msg.get(tag::SENDER_COMP_ID) == Some(&self.cfg.target_comp_id[..])
            && msg.get(tag::TARGET_COMP_ID) == Some(&self.cfg.sender_comp_id[..]);
        let time_ok = msg
            .get_time(tag::SENDING_TIME)
            .ok()
            .flatten()
            .is_some_and(|t| t.abs_diff(now) <= self.cfg.max_latency_ns);
        let hb = msg.get_u64(tag::HEART_BT_INT).ok().flatten();
        let Some(seq) = msg.seq_num() else {
            return self.drop_connection();
        };
        if !comp_ok || !time_ok || hb.is_none() {
            return self.drop_connection();
        }
        if let Some((u, p)) = &self.cfg.credentials
            && (msg.get(tag::USERNAME) != Some(&u[..]) || msg.get(tag::PASSWORD) != Some(&p[..]))
        {
            self.send_logout(now, out, Some(b"Invalid username or password"));
            return self.drop_connection();
        }
        let reset = msg.get(tag::RESET_SEQ_NUM_FLAG) == Some(b"Y");
        if reset {
            self.next_in = 1;
            self.next_out = 1;
        }
        // HeartBtInt 0 disables the timers; others are capped at one day, so the timer
        // arithmetic cannot overflow.
        self.heart_bt_ns = hb.unwrap_or(30).min(86_400) * 1_000_000_000;
        self.state = SessionState::Active;
        let h = self.header(now, self.next_out, None);
        fix::logon(
            out,
            &h,
            u32::try_from(hb.unwrap_or(30)).unwrap_or(u32::MAX),
            false,
            None,
            None,
        );
        self.next_out += 1;
        self.last_sent = now;
        self.last_recv = now;
        if seq > self.next_in {
            let h = self.header(now, self.next_out, None);
            fix::resend_request(out, &h, self.next_in, 0);
            self.next_out += 1;
            self.resend_pending = Some(seq);
            // The Logon itself counts as received: everything up to it is the gap.
        } else if seq < self.next_in {
            let text = format!(
                "MsgSeqNum too low, expecting {} but received {}",
                self.next_in, seq
            );
            self.send_logout(now, out, Some(text.as_bytes()));
            return self.drop_connection();
        } else {
            self.next_in += 1;
        }
        Step::default()
    }
}

/// Header fields the session writes itself (an echo does not copy them from the message).
const SESSION_HEADER_TAGS: &[u32] = &[
    tag::MSG_TYPE,
    tag::MSG_SEQ_NUM,
    tag::POSS_DUP_FLAG,
    tag::SENDER_COMP_ID,
    tag::SENDING_TIME,
    tag::TARGET_COMP_ID,
    tag::ORIG_SENDING_TIME,
];

/// The body fields of a message (no header, no 8/9/10) in the order QuickFIX writes them:
/// ascending by tag, a repeating group (from the first NumInGroup counter with a non-zero count
/// to the end of the message; group membership is not looked up) as one block at its counter's
/// place.
fn echo_body_order<'m>(fields: &[fix::Field<'m>]) -> Vec<fix::Field<'m>> {
    let body: Vec<fix::Field<'m>> = fields
        .iter()
        .filter(|f| !fix::is_header_tag(f.tag) && !matches!(f.tag, 8..=10))
        .copied()
        .collect();
    let split = body
        .iter()
        .position(|f| {
            crate::fix_dict::NUM_IN_GROUP_TAGS
                .binary_search(&f.tag)
                .is_ok()
                && f.value != b"0"
        })
        .unwrap_or(body.len());
    let (top, group) = body.split_at(split);
    let mut top = top.to_vec();
    top.sort_by_key(|f| f.tag);
    if let Some(counter) = group.first() {
        let at = top.partition_point(|f| f.tag < counter.tag);
        top.splice(at..at, group.iter().copied());
    }
    top
}

/// The routing header fields of a reply: OnBehalfOf* (115, 116, 144) of the message become
/// DeliverTo* (128, 129, 145) and vice versa; empty values are dropped. Ascending by tag.
fn reverse_route<'m>(msg: &Message<'m>) -> SmallVec<[(u32, &'m [u8]); 6]> {
    const PAIRS: [(u32, u32); 6] = [
        (115, 128),
        (128, 115),
        (116, 129),
        (129, 116),
        (144, 145),
        (145, 144),
    ];
    let mut v: SmallVec<[(u32, &'m [u8]); 6]> = PAIRS
        .iter()
        .filter_map(|&(from, to)| msg.get(from).filter(|x| !x.is_empty()).map(|x| (to, x)))
        .collect();
    v.sort_by_key(|&(t, _)| t);
    v
}

/// Tag numbers the FIX 4.4 dictionary defines.
fn is_fix44_tag(t: u32) -> bool {
    const RANGES: &[(u32, u32)] = &[
        (1, 19),
        (21, 23),
        (25, 45),
        (48, 50),
        (52, 75),
        (77, 85),
        (87, 91),
        (93, 100),
        (102, 108),
        (110, 124),
        (126, 165),
        (167, 172),
        (188, 203),
        (206, 218),
        (220, 260),
        (262, 313),
        (315, 318),
        (320, 369),
        (371, 438),
        (441, 448),
        (451, 652),
        (654, 808),
        (810, 956),
    ];
    RANGES.iter().any(|&(a, b)| (a..=b).contains(&t))
}

/// Body tags allowed in the admin messages (None for application messages: the mapping
/// validates those).
fn admin_body_tags(msg_type: &[u8]) -> Option<&'static [u32]> {
    Some(match msg_type {
        b"0" | b"1" => &[tag::TEST_REQ_ID],
        b"2" => &[tag::BEGIN_SEQ_NO, tag::END_SEQ_NO],
        b"3" => &[45, 58, 354, 355, 371, 372, 373],
        b"4" => &[tag::GAP_FILL_FLAG, tag::NEW_SEQ_NO],
        b"5" => &[58, 354, 355],
        b"A" => &[95, 96, 98, 108, 141, 383, 384, 372, 385, 464, 553, 554],
        _ => return None,
    })
}

/// The first NumInGroup field whose count does not match the entries that follow it. An
/// entry starts with the field right after the counter; the group ends at a field whose tag
/// already occurred before the counter (the enclosing level continues) or at the trailer.
fn bad_group_count(f: &[fix::Field<'_>]) -> Option<u32> {
    for (i, g) in f.iter().enumerate() {
        if crate::fix_dict::NUM_IN_GROUP_TAGS
            .binary_search(&g.tag)
            .is_err()
        {
            continue;
        }
        let declared = fix::parse_u64(g.value)?;
        let rest = &f[i + 1..];
        let Some(first) = rest.first().filter(|x| x.tag != tag::CHECK_SUM) else {
            if declared == 0 {
                continue;
            }
            return Some(g.tag);
        };
        if declared == 0 {
            continue;
        }
        let before = &f[..i];
        let entries = rest
            .iter()
            .take_while(|x| x.tag != tag::CHECK_SUM && !before.iter().any(|b| b.tag == x.tag))
            .filter(|x| x.tag == first.tag)
            .count() as u64;
        if entries != declared {
            return Some(g.tag);
        }
    }
    None
}

/// The first repeating group (counter, delimiter) with a non-zero count whose first entry does
/// not start with the group's delimiter field ([`crate::fix_dict::GROUP_DELIMITERS`]).
fn group_delimiter_problem(f: &[fix::Field<'_>]) -> Option<(u32, u32)> {
    f.iter().enumerate().find_map(|(i, g)| {
        let k = crate::fix_dict::GROUP_DELIMITERS
            .binary_search_by_key(&g.tag, |&(c, _)| c)
            .ok()?;
        let delimiter = crate::fix_dict::GROUP_DELIMITERS[k].1;
        if fix::parse_u64(g.value).is_none_or(|n| n == 0) {
            return None;
        }
        let next = f.get(i + 1).filter(|x| x.tag != tag::CHECK_SUM)?;
        (next.tag != delimiter).then_some((g.tag, delimiter))
    })
}

/// A tag repeated in a message without repeating groups.
fn repeated_tag(msg: &Message<'_>) -> Option<u32> {
    let f = msg.fields();
    if f.iter().any(|x| GROUP_COUNT_TAGS.contains(&x.tag)) {
        return None;
    }
    f.iter()
        .enumerate()
        .find(|(i, x)| f[..*i].iter().any(|y| y.tag == x.tag))
        .map(|(_, x)| x.tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000_000_000;

    fn client(seq: u64) -> Header<'static> {
        Header {
            sender: b"TW",
            target: b"ISLD",
            seq,
            sending_time: T0,
            poss_dup: None,
            extra: &[],
        }
    }

    fn msgs(out: &[u8]) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        let mut at = 0;
        while let Ok(Some(n)) = fix::frame(&out[at..], 1 << 16) {
            v.push(out[at..at + n].to_vec());
            at += n;
        }
        v
    }

    #[test]
    fn credentials_are_checked() {
        let mut cfg = SessionConfig::new(b"ISLD", b"TW");
        cfg.credentials = Some((b"alice".to_vec(), b"s3cret".to_vec()));
        let mut s = Session::new(cfg.clone());
        let mut out = Vec::new();
        let mut m = Vec::new();
        fix::logon(
            &mut m,
            &client(1),
            30,
            false,
            Some(b"alice"),
            Some(b"wrong"),
        );
        assert!(s.on_message(&m, T0, &mut out).disconnect);
        let replies = msgs(&out);
        assert_eq!(replies.len(), 1);
        let r = fix::parse(&replies[0]).unwrap();
        assert_eq!(r.msg_type(), b"5");

        let mut s = Session::new(cfg);
        out.clear();
        m.clear();
        fix::logon(
            &mut m,
            &client(1),
            30,
            false,
            Some(b"alice"),
            Some(b"s3cret"),
        );
        assert!(!s.on_message(&m, T0, &mut out).disconnect);
        assert_eq!(s.state(), SessionState::Active);
        assert_eq!(fix::parse(&msgs(&out)[0]).unwrap().msg_type(), b"A");
    }

    #[test]
    fn resend_replays_application_messages_and_gap_fills_admin() {
        let mut s = Session::new(SessionConfig::new(b"ISLD", b"TW"));
        let mut out = Vec::new();
        let mut m = Vec::new();
        fix::logon(&mut m, &client(1), 30, false, None, None);
        s.on_message(&m, T0, &mut out); // our seq 1: Logon
        s.send(b"8", T0, &mut out, |b| {
            b.bytes(tag::CL_ORD_ID, b"A1");
        }); // seq 2
        s.send(b"8", T0, &mut out, |b| {
            b.bytes(tag::CL_ORD_ID, b"A2");
        }); // seq 3
        out.clear();
        m.clear();
        fix::resend_request(&mut m, &client(2), 1, 0);
        s.on_message(&m, T0 + 1_000_000_000, &mut out);
        let replies: Vec<_> = msgs(&out);
        let parsed: Vec<_> = replies.iter().map(|r| fix::parse(r).unwrap()).collect();
        let kinds: Vec<(&[u8], Option<u64>)> =
            parsed.iter().map(|p| (p.msg_type(), p.seq_num())).collect();
        assert_eq!(
            kinds,
            [
                (&b"4"[..], Some(1)),
                (&b"8"[..], Some(2)),
                (&b"8"[..], Some(3))
            ]
        );
        assert_eq!(parsed[0].get(tag::NEW_SEQ_NO), Some(&b"2"[..]));
        assert!(parsed[1].poss_dup());
        assert_eq!(
            parsed[1].get_time(tag::ORIG_SENDING_TIME).unwrap(),
            Some(T0)
        );
        assert_eq!(parsed[2].get(tag::CL_ORD_ID), Some(&b"A2"[..]));
        assert_eq!(s.next_out(), 4, "resends do not consume sequence numbers");
    }

    #[test]
    fn queued_messages_come_back_after_gap_fill() {
        let mut s = Session::new(SessionConfig::new(b"ISLD", b"TW"));
        let mut out = Vec::new();
        let mut m = Vec::new();
        fix::logon(&mut m, &client(1), 30, false, None, None);
        s.on_message(&m, T0, &mut out);
        let mut hb = Vec::new();
        fix::test_request(&mut hb, &client(4), b"Q");
        s.on_message(&hb, T0, &mut out);
        assert_eq!(s.next_in(), 2);
        assert!(s.take_queued().is_none());
        let mut gf = Vec::new();
        fix::sequence_reset(
            &mut gf,
            &Header {
                poss_dup: Some(T0),
                ..client(2)
            },
            4,
            true,
        );
        s.on_message(&gf, T0, &mut out);
        assert_eq!(s.next_in(), 4);
        let q = s.take_queued().expect("queued TestRequest");
        out.clear();
        s.on_message(&q, T0, &mut out);
        let r = fix::parse(&msgs(&out)[0])
            .unwrap()
            .get(tag::TEST_REQ_ID)
            .map(<[u8]>::to_vec);
        assert_eq!(r, Some(b"Q".to_vec()));
        assert_eq!(s.next_in(), 5);
    }

    fn logged_on(cfg: SessionConfig) -> (Session, Vec<u8>) {
        let mut s = Session::new(cfg);
        let mut out = Vec::new();
        let mut m = Vec::new();
        fix::logon(&mut m, &client(1), 30, false, None, None);
        s.on_message(&m, T0, &mut out);
        out.clear();
        (s, out)
    }

    /// A client message with these header extras and body fields (in the given order).
    fn client_msg(
        seq: u64,
        msg_type: &[u8],
        extra: &[(u32, &[u8])],
        body: &[(u32, &[u8])],
    ) -> Vec<u8> {
        let mut m = Vec::new();
        let h = Header {
            extra,
            ..client(seq)
        };
        fix::encode(&mut m, &h, msg_type, |b| {
            for &(t, v) in body {
                b.bytes(t, v);
            }
        });
        m
    }

    fn pairs(m: &[u8]) -> Vec<(u32, Vec<u8>)> {
        fix::parse(m)
            .unwrap()
            .fields()
            .iter()
            .filter(|f| !matches!(f.tag, 8 | 9 | 10 | 52 | 122))
            .map(|f| (f.tag, f.value.to_vec()))
            .collect()
    }

    const ORDER: &[(u32, &[u8])] = &[
        (55, b"MSFT"),
        (40, b"1"),
        (60, b"20231114-22:13:20"),
        (54, b"1"),
        (21, b"3"),
        (11, b"id"),
    ];

    #[test]
    fn echo_mode_echoes_orders_sorted_and_dedups_poss_resend() {
        let mut cfg = SessionConfig::new(b"ISLD", b"TW");
        cfg.echo_application = true;
        let (mut s, mut out) = logged_on(cfg);
        let m = client_msg(2, b"D", &[], ORDER);
        let step = s.on_message(&m, T0, &mut out);
        assert!(step.app.is_none(), "echo mode hands nothing to the caller");
        let r = msgs(&out);
        assert_eq!(r.len(), 1);
        let pv = pairs(&r[0]);
        let v: Vec<(u32, &[u8])> = pv.iter().map(|(t, v)| (*t, &v[..])).collect();
        let expect: Vec<(u32, &[u8])> = vec![
            (35, b"D"),
            (34, b"2"),
            (49, b"ISLD"),
            (56, b"TW"),
            (11, b"id"),
            (21, b"3"),
            (40, b"1"),
            (54, b"1"),
            (55, b"MSFT"),
            (60, b"20231114-22:13:20"),
        ];
        assert_eq!(v, expect);
        // The same ClOrdID again with PossResend: not echoed; without it: echoed, with 97.
        out.clear();
        let m = client_msg(3, b"D", &[(97, b"Y")], ORDER);
        s.on_message(&m, T0, &mut out);
        assert!(out.is_empty());
        let m = client_msg(
            4,
            b"D",
            &[],
            &[
                (11, b"id2"),
                (21, b"3"),
                (40, b"1"),
                (54, b"1"),
                (55, b"X"),
                (60, b"20231114-22:13:20"),
            ],
        );
        s.on_message(&m, T0, &mut out);
        let m = client_msg(
            5,
            b"D",
            &[(97, b"Y")],
            &[
                (11, b"new"),
                (21, b"3"),
                (40, b"1"),
                (54, b"1"),
                (55, b"X"),
                (60, b"20231114-22:13:20"),
            ],
        );
        s.on_message(&m, T0, &mut out);
        let r = msgs(&out);
        assert_eq!(r.len(), 2);
        let last = fix::parse(&r[1]).unwrap();
        assert_eq!(last.get(97), Some(&b"Y"[..]));
        assert_eq!(last.seq_num(), Some(4));
        // Echoes are stored: a ResendRequest gets them back with PossDupFlag, header kept.
        out.clear();
        let mut rr = Vec::new();
        fix::resend_request(&mut rr, &client(6), 4, 0);
        s.on_message(&rr, T0 + 1_000_000_000, &mut out);
        let r = msgs(&out);
        assert_eq!(r.len(), 1);
        let p = fix::parse(&r[0]).unwrap();
        assert!(p.poss_dup());
        assert_eq!(p.seq_num(), Some(4));
        assert_eq!(p.get(97), Some(&b"Y"[..]));
        assert_eq!(p.get(tag::CL_ORD_ID), Some(&b"new"[..]));
        assert_eq!(p.get_time(tag::ORIG_SENDING_TIME).unwrap(), Some(T0));
    }

    #[test]
    fn echo_mode_checks_required_fields_and_rejects_unknown_types() {
        let mut cfg = SessionConfig::new(b"ISLD", b"TW");
        cfg.echo_application = true;
        let (mut s, mut out) = logged_on(cfg);
        let m = client_msg(2, b"D", &[], &ORDER[..5]);
        s.on_message(&m, T0, &mut out);
        let p = pairs(&msgs(&out)[0]);
        assert!(p.contains(&(373, b"1".to_vec())) && p.contains(&(371, b"11".to_vec())));
        out.clear();
        let m = client_msg(3, b"AE", &[], &[(571, b"x")]);
        s.on_message(&m, T0, &mut out);
        let p = pairs(&msgs(&out)[0]);
        assert!(p.contains(&(35, b"j".to_vec())) && p.contains(&(380, b"3".to_vec())));
    }

    #[test]
    fn dictionary_values_are_checked_in_venue_mode() {
        let (mut s, mut out) = logged_on(SessionConfig::new(b"ISLD", b"TW"));
        let mut body = ORDER.to_vec();
        body.push((167, b"BOO"));
        let m = client_msg(2, b"D", &[], &body);
        let step = s.on_message(&m, T0, &mut out);
        assert!(step.app.is_none());
        let p = pairs(&msgs(&out)[0]);
        assert!(p.contains(&(373, b"5".to_vec())) && p.contains(&(371, b"167".to_vec())));
        out.clear();
        let mut body = ORDER.to_vec();
        body.push((38, b"+200.00"));
        s.on_message(&client_msg(3, b"D", &[], &body), T0, &mut out);
        let p = pairs(&msgs(&out)[0]);
        assert!(p.contains(&(373, b"6".to_vec())) && p.contains(&(371, b"38".to_vec())));
        out.clear();
        let mut body = ORDER.to_vec();
        body.push((167, b"CS"));
        body.push((38, b"200"));
        let m = client_msg(4, b"D", &[], &body);
        let step = s.on_message(&m, T0, &mut out);
        assert!(step.app.is_some(), "a valid order goes to the mapping");
        assert!(out.is_empty());
    }
}
