//! SoupBinTCP 4.0 framing: the session layer NASDAQ's OUCH runs over.
//!
//! Every packet on the wire is `length (u16, big-endian) | type (1 byte) | payload`, where
//! `length` counts the type byte and the payload (not the two length bytes). The packet types and
//! their fixed layouts:
//!
//! | type | name | direction | payload |
//! | --- | --- | --- | --- |
//! | `+` | Debug | both | free text |
//! | `A` | Login Accepted | server → client | session (10, alpha, left-padded with spaces), sequence number (20, numeric ASCII, left-padded with spaces) |
//! | `J` | Login Rejected | server → client | reject reason code (1): `A` not authorized, `S` session not available |
//! | `S` | Sequenced Data | server → client | one upper-layer (OUCH) message |
//! | `H` | Server Heartbeat | server → client | none |
//! | `Z` | End of Session | server → client | none |
//! | `L` | Login Request | client → server | username (6, alpha, right-padded), password (10, right-padded), requested session (10, left-padded; blank = current), requested sequence number (20, numeric, left-padded; 0 = from the most recent) |
//! | `U` | Unsequenced Data | client → server | one upper-layer (OUCH) message |
//! | `R` | Client Heartbeat | client → server | none |
//! | `O` | Logout Request | client → server | none |
//!
//! [`decode`] is incremental and zero-copy: it looks at the front of a receive buffer and returns
//! either `Ok(None)` (need more bytes), or one [`Packet`] borrowing the buffer plus the number of
//! bytes it used. A length field above the configured maximum is an error as soon as the two
//! length bytes have arrived: nothing is ever allocated from a length read off the wire.
//! [`encode`] appends a packet to a `Vec<u8>`; [`encode_into`] writes into a fixed `&mut [u8]`.
//! Neither allocates beyond the output buffer. Both are O(packet length).
//!
//! ```
//! use ferrex_gateway::soupbin::{decode, encode, Packet};
//! let mut wire = Vec::new();
//! encode(&Packet::UnsequencedData(b"hello"), &mut wire).unwrap();
//! assert_eq!(wire, b"\x00\x06Uhello");
//! let (p, used) = decode(&wire).unwrap().unwrap();
//! assert_eq!((p, used), (Packet::UnsequencedData(b"hello"), 8));
//! ```

/// The default maximum packet length (type byte + payload) accepted by [`decode`]. OUCH messages
/// are well below 1 KiB; anything larger is treated as garbage.
pub const DEFAULT_MAX_PACKET: usize = 4096;

/// Width of the username field of a Login Request.
pub const USERNAME_LEN: usize = 6;
/// Width of the password field of a Login Request.
pub const PASSWORD_LEN: usize = 10;
/// Width of a session field (Login Request, Login Accepted).
pub const SESSION_LEN: usize = 10;
/// Width of a sequence number field (Login Request, Login Accepted).
pub const SEQUENCE_LEN: usize = 20;

/// Why a login was rejected (Login Rejected packet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoginRejectCode {
    /// `A`: the username/password was not accepted.
    NotAuthorized,
    /// `S`: the requested session is not available.
    SessionNotAvailable,
}

impl LoginRejectCode {
    /// The wire byte.
    pub const fn code(self) -> u8 {
        match self {
            LoginRejectCode::NotAuthorized => b'A',
            LoginRejectCode::SessionNotAvailable => b'S',
        }
    }
    /// Parse the wire byte.
    pub const fn from_code(b: u8) -> Option<Self> {
        match b {
            b'A' => Some(LoginRejectCode::NotAuthorized),
            b'S' => Some(LoginRejectCode::SessionNotAvailable),
            _ => None,
        }
    }
}

/// One SoupBinTCP packet. Payload-carrying variants borrow the receive buffer; text fields hold
/// the value without its padding (so encoding a decoded packet gives the same bytes back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Packet<'a> {
    /// `+`: free-form debug text (either direction).
    Debug(&'a [u8]),
    /// `A`: the server accepted the login.
    LoginAccepted {
        /// Session id (up to 10 alphanumeric bytes, without padding).
        session: &'a [u8],
        /// Sequence number of the next sequenced message the server will send.
        sequence: u64,
    },
    /// `J`: the server rejected the login.
    LoginRejected(LoginRejectCode),
    /// `S`: one sequenced upper-layer message.
    SequencedData(&'a [u8]),
    /// `H`: server heartbeat.
    ServerHeartbeat,
    /// `Z`: the server ended the session.
    EndOfSession,
    /// `L`: the client asks to log in.
    LoginRequest {
        /// Username (up to 6 alphanumeric bytes, without padding).
        username: &'a [u8],
        /// Password (up to 10 bytes, without padding).
        password: &'a [u8],
        /// Requested session (up to 10 bytes; empty = the currently active session).
        session: &'a [u8],
        /// Requested sequence number (0 = start from the most recently generated message).
        sequence: u64,
    },
    /// `U`: one unsequenced upper-layer message from the client.
    UnsequencedData(&'a [u8]),
    /// `R`: client heartbeat.
    ClientHeartbeat,
    /// `O`: the client asks to log out.
    LogoutRequest,
}

impl Packet<'_> {
    /// The packet type byte.
    pub const fn packet_type(&self) -> u8 {
        match self {
            Packet::Debug(_) => b'+',
            Packet::LoginAccepted { .. } => b'A',
            Packet::LoginRejected(_) => b'J',
            Packet::SequencedData(_) => b'S',
            Packet::ServerHeartbeat => b'H',
            Packet::EndOfSession => b'Z',
            Packet::LoginRequest { .. } => b'L',
            Packet::UnsequencedData(_) => b'U',
            Packet::ClientHeartbeat => b'R',
            Packet::LogoutRequest => b'O',
        }
    }

    /// Length of the encoded packet including the two length bytes.
    pub const fn encoded_len(&self) -> usize {
        2 + 1
            + match self {
                Packet::Debug(p) | Packet::SequencedData(p) | Packet::UnsequencedData(p) => p.len(),
                Packet::LoginAccepted { .. } => SESSION_LEN + SEQUENCE_LEN,
                Packet::LoginRejected(_) => 1,
                Packet::LoginRequest { .. } => {
                    USERNAME_LEN + PASSWORD_LEN + SESSION_LEN + SEQUENCE_LEN
                }
                Packet::ServerHeartbeat
                | Packet::EndOfSession
                | Packet::ClientHeartbeat
                | Packet::LogoutRequest => 0,
            }
    }
}

/// A SoupBinTCP decoding or encoding error. Offsets are from the start of the packet (the first
/// length byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SoupError {
    /// The length field is above the maximum packet size (the connection should be dropped).
    #[error("packet length {len} exceeds the maximum {max}")]
    TooLong {
        /// The declared (or, when encoding, required) length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The length field is 0: a packet needs at least its type byte.
    #[error("packet length 0 (a packet needs at least its type byte)")]
    EmptyPacket,
    /// Unknown packet type byte (at offset 2).
    #[error("unknown packet type 0x{packet_type:02x} at offset 2")]
    UnknownType {
        /// The byte.
        packet_type: u8,
    },
    /// A fixed-layout packet has the wrong length.
    #[error("packet type '{}' has length {got}, expected {expected}", *packet_type as char)]
    BadLength {
        /// The packet type.
        packet_type: u8,
        /// The fixed length (type byte + payload) of this packet type.
        expected: usize,
        /// The declared length.
        got: usize,
    },
    /// A field's content is invalid (non-alphanumeric text, non-numeric sequence, bad code).
    #[error("packet type '{}': invalid {field} at offset {offset}", *packet_type as char)]
    BadField {
        /// The packet type.
        packet_type: u8,
        /// The field name.
        field: &'static str,
        /// Offset of the field from the start of the packet.
        offset: usize,
    },
    /// Encoding: a text field is longer than its fixed width.
    #[error("{field} is {len} bytes, the field holds {max}")]
    FieldTooLong {
        /// The field name.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The field width.
        max: usize,
    },
    /// Encoding: the output slice is too small.
    #[error("output buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
}

/// Decode one packet from the front of `buf` with [`DEFAULT_MAX_PACKET`]. See [`decode_with_max`].
pub fn decode(buf: &[u8]) -> Result<Option<(Packet<'_>, usize)>, SoupError> {
    decode_with_max(buf, DEFAULT_MAX_PACKET)
}

/// Decode one packet from the front of `buf`.
///
/// Returns `Ok(None)` when `buf` does not yet hold a whole packet, `Ok(Some((packet, consumed)))`
/// when it does (`consumed` = 2 + length), or an error for a packet that can never become valid.
/// `max_packet` bounds the length field (type byte + payload); a larger length is
/// [`SoupError::TooLong`] as soon as the two length bytes are in, without waiting for the body.
/// Cost: O(1) for data packets, O(field widths) for login packets; never allocates.
pub fn decode_with_max(
    buf: &[u8],
    max_packet: usize,
) -> Result<Option<(Packet<'_>, usize)>, SoupError> {
    let [hi, lo, ..] = *buf else {
        return Ok(None);
    };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if len == 0 {
        return Err(SoupError::EmptyPacket);
    }
    if len > max_packet {
        return Err(SoupError::TooLong {
            len,
            max: max_packet,
        });
    }
    let Some(body) = buf.get(2..2 + len) else {
        return Ok(None);
    };
    let packet_type = body[0];
    let payload = &body[1..];
    let fixed = |expected: usize| -> Result<(), SoupError> {
        if len == expected {
            Ok(())
        } else {
            Err(SoupError::BadLength {
                packet_type,
                expected,
                got: len,
            })
        }
    };
    let p = match packet_type {
        b'+' => Packet::Debug(payload),
        b'S' => Packet::SequencedData(payload),
        b'U' => Packet::UnsequencedData(payload),
        b'H' => {
            fixed(1)?;
            Packet::ServerHeartbeat
        }
        b'Z' => {
            fixed(1)?;
            Packet::EndOfSession
        }
        b'R' => {
            fixed(1)?;
            Packet::ClientHeartbeat
        }
        b'O' => {
            fixed(1)?;
            Packet::LogoutRequest
        }
        b'J' => {
            fixed(2)?;
            let code = LoginRejectCode::from_code(payload[0]).ok_or(SoupError::BadField {
                packet_type,
                field: "reject reason code",
                offset: 3,
            })?;
            Packet::LoginRejected(code)
        }
        b'A' => {
            fixed(1 + SESSION_LEN + SEQUENCE_LEN)?;
            let session =
                left_padded_alnum(&payload[..SESSION_LEN]).ok_or(SoupError::BadField {
                    packet_type,
                    field: "session",
                    offset: 3,
                })?;
            let sequence = numeric(&payload[SESSION_LEN..]).ok_or(SoupError::BadField {
                packet_type,
                field: "sequence number",
                offset: 3 + SESSION_LEN,
            })?;
            Packet::LoginAccepted { session, sequence }
        }
        b'L' => {
            fixed(1 + USERNAME_LEN + PASSWORD_LEN + SESSION_LEN + SEQUENCE_LEN)?;
            let bad = |field, offset| SoupError::BadField {
                packet_type,
                field,
                offset,
            };
            let (u, rest) = payload.split_at(USERNAME_LEN);
            let (pw, rest) = rest.split_at(PASSWORD_LEN);
            let (s, q) = rest.split_at(SESSION_LEN);
            // Decoding tolerates padding on either side (clients differ); encoding follows the
            // spec (alpha fields right-padded, session and sequence left-padded).
            let username = left_padded_alnum(u).ok_or(bad("username", 3))?;
            let password = left_padded_alnum(pw).ok_or(bad("password", 3 + USERNAME_LEN))?;
            let session = left_padded_alnum(s)
                .ok_or(bad("requested session", 3 + USERNAME_LEN + PASSWORD_LEN))?;
            let sequence = numeric(q).ok_or(bad(
                "requested sequence number",
                3 + USERNAME_LEN + PASSWORD_LEN + SESSION_LEN,
            ))?;
            Packet::LoginRequest {
                username,
                password,
                session,
                sequence,
            }
        }
        other => return Err(SoupError::UnknownType { packet_type: other }),
    };
    Ok(Some((p, 2 + len)))
}

/// Append one packet to `out`. Returns the number of bytes written. Fails (writing nothing) when
/// a text field is too long or not alphanumeric, or the packet exceeds 65535 bytes.
pub fn encode(p: &Packet<'_>, out: &mut Vec<u8>) -> Result<usize, SoupError> {
    let start = out.len();
    out.resize(start + p.encoded_len(), 0);
    match encode_into(p, &mut out[start..]) {
        Ok(n) => Ok(n),
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// Write one packet at the start of `out`. Returns the number of bytes written
/// ([`Packet::encoded_len`]). Never allocates.
pub fn encode_into(p: &Packet<'_>, out: &mut [u8]) -> Result<usize, SoupError> {
    let need = p.encoded_len();
    if need - 2 > usize::from(u16::MAX) {
        return Err(SoupError::TooLong {
            len: need - 2,
            max: usize::from(u16::MAX),
        });
    }
    if out.len() < need {
        return Err(SoupError::BufferTooSmall {
            need,
            have: out.len(),
        });
    }
    let out = &mut out[..need];
    // Fits: checked against u16::MAX above.
    let len = (need - 2) as u16;
    out[..2].copy_from_slice(&len.to_be_bytes());
    out[2] = p.packet_type();
    let body = &mut out[3..];
    match *p {
        Packet::Debug(d) | Packet::SequencedData(d) | Packet::UnsequencedData(d) => {
            body.copy_from_slice(d)
        }
        Packet::LoginRejected(code) => body[0] = code.code(),
        Packet::LoginAccepted { session, sequence } => {
            let (s, q) = body.split_at_mut(SESSION_LEN);
            put_left_padded(s, session, "session")?;
            put_numeric(q, sequence);
        }
        Packet::LoginRequest {
            username,
            password,
            session,
            sequence,
        } => {
            let (u, rest) = body.split_at_mut(USERNAME_LEN);
            let (pw, rest) = rest.split_at_mut(PASSWORD_LEN);
            let (s, q) = rest.split_at_mut(SESSION_LEN);
            put_right_padded(u, username, "username")?;
            put_right_padded(pw, password, "password")?;
            put_left_padded(s, session, "requested session")?;
            put_numeric(q, sequence);
        }
        Packet::ServerHeartbeat
        | Packet::EndOfSession
        | Packet::ClientHeartbeat
        | Packet::LogoutRequest => {}
    }
    Ok(need)
}

fn check_text(v: &[u8], width: usize, field: &'static str) -> Result<(), SoupError> {
    if v.len() > width {
        return Err(SoupError::FieldTooLong {
            field,
            len: v.len(),
            max: width,
        });
    }
    if !v.iter().all(u8::is_ascii_alphanumeric) {
        return Err(SoupError::BadField {
            packet_type: 0,
            field,
            offset: 0,
        });
    }
    Ok(())
}

fn put_right_padded(dst: &mut [u8], v: &[u8], field: &'static str) -> Result<(), SoupError> {
    check_text(v, dst.len(), field)?;
    dst.fill(b' ');
    dst[..v.len()].copy_from_slice(v);
    Ok(())
}

fn put_left_padded(dst: &mut [u8], v: &[u8], field: &'static str) -> Result<(), SoupError> {
    check_text(v, dst.len(), field)?;
    dst.fill(b' ');
    let at = dst.len() - v.len();
    dst[at..].copy_from_slice(v);
    Ok(())
}

/// Right-justified decimal, left-padded with spaces; 20 digits hold any u64.
fn put_numeric(dst: &mut [u8], mut v: u64) {
    dst.fill(b' ');
    let mut i = dst.len();
    loop {
        i -= 1;
        dst[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
}

/// Text left-justified and padded on the right with spaces: alphanumerics then only spaces.
fn right_padded_alnum(f: &[u8]) -> Option<&[u8]> {
    let end = f.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    let v = &f[..end];
    v.iter().all(u8::is_ascii_alphanumeric).then_some(v)
}

/// Text right-justified and padded on the left with spaces. Trailing spaces are tolerated too
/// (some clients left-justify), but no spaces inside the value.
fn left_padded_alnum(f: &[u8]) -> Option<&[u8]> {
    let start = f.iter().position(|&b| b != b' ').unwrap_or(f.len());
    right_padded_alnum(&f[start..])
}

/// A numeric field: optional spaces, digits, optional spaces; all blank = 0. Overflow is None.
fn numeric(f: &[u8]) -> Option<u64> {
    let v = left_padded_alnum(f)?;
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_packets() -> Vec<Packet<'static>> {
        vec![
            Packet::Debug(b"hello world"),
            Packet::LoginAccepted {
                session: b"SESS01",
                sequence: 42,
            },
            Packet::LoginAccepted {
                session: b"",
                sequence: u64::MAX,
            },
            Packet::LoginRejected(LoginRejectCode::NotAuthorized),
            Packet::LoginRejected(LoginRejectCode::SessionNotAvailable),
            Packet::SequencedData(b"O1234"),
            Packet::SequencedData(b""),
            Packet::ServerHeartbeat,
            Packet::EndOfSession,
            Packet::LoginRequest {
                username: b"USER01",
                password: b"secret",
                session: b"",
                sequence: 0,
            },
            Packet::UnsequencedData(b"X\x00\x00\x00\x01"),
            Packet::ClientHeartbeat,
            Packet::LogoutRequest,
        ]
    }

    #[test]
    fn round_trip_every_packet_type() {
        for p in all_packets() {
            let mut v = Vec::new();
            let n = encode(&p, &mut v).unwrap();
            assert_eq!(n, v.len());
            assert_eq!(n, p.encoded_len());
            let (q, used) = decode(&v).unwrap().unwrap();
            assert_eq!((q, used), (p, n));
            // Every strict prefix is incomplete, never an error.
            for k in 0..n {
                assert_eq!(decode(&v[..k]).unwrap(), None, "{p:?} prefix {k}");
            }
            let mut arr = [0u8; 64];
            if n <= 64 {
                assert_eq!(encode_into(&p, &mut arr).unwrap(), n);
                assert_eq!(&arr[..n], &v[..]);
            }
        }
    }

    #[test]
    fn exact_login_layouts() {
        let mut v = Vec::new();
        encode(
            &Packet::LoginRequest {
                username: b"ABC",
                password: b"pw1",
                session: b"S1",
                sequence: 17,
            },
            &mut v,
        )
        .unwrap();
        let mut want = vec![0u8, 47, b'L'];
        want.extend_from_slice(b"ABC   ");
        want.extend_from_slice(b"pw1       ");
        want.extend_from_slice(b"        S1");
        want.extend_from_slice(b"                  17");
        assert_eq!(v, want);

        v.clear();
        encode(
            &Packet::LoginAccepted {
                session: b"0000000001",
                sequence: 1,
            },
            &mut v,
        )
        .unwrap();
        let mut want = vec![0u8, 31, b'A'];
        want.extend_from_slice(b"0000000001");
        want.extend_from_slice(b"                   1");
        assert_eq!(v, want);

        v.clear();
        encode(&Packet::ServerHeartbeat, &mut v).unwrap();
        assert_eq!(v, [0, 1, b'H']);
    }

    #[test]
    fn stream_of_packets_decodes_in_order() {
        let mut v = Vec::new();
        for p in all_packets() {
            encode(&p, &mut v).unwrap();
        }
        let mut at = 0;
        let mut got = Vec::new();
        while let Some((p, n)) = decode(&v[at..]).unwrap() {
            got.push(p);
            at += n;
        }
        assert_eq!(at, v.len());
        assert_eq!(got, all_packets());
    }

    #[test]
    fn corrupt_input_errors() {
        assert_eq!(decode(&[0, 0]), Err(SoupError::EmptyPacket));
        assert_eq!(
            decode(&[0xff, 0xff]),
            Err(SoupError::TooLong {
                len: 65535,
                max: DEFAULT_MAX_PACKET
            })
        );
        assert_eq!(
            decode(&[0, 1, b'Q']),
            Err(SoupError::UnknownType { packet_type: b'Q' })
        );
        assert_eq!(
            decode(&[0, 2, b'H', 0]),
            Err(SoupError::BadLength {
                packet_type: b'H',
                expected: 1,
                got: 2
            })
        );
        assert_eq!(
            decode(&[0, 2, b'J', b'X']),
            Err(SoupError::BadField {
                packet_type: b'J',
                field: "reject reason code",
                offset: 3
            })
        );
        let mut v = vec![0u8, 47, b'L'];
        v.extend_from_slice(b"A B   pw        S1        00000000000000000017");
        assert!(matches!(
            decode(&v),
            Err(SoupError::BadField {
                field: "username",
                ..
            })
        ));
        let mut v = vec![0u8, 31, b'A'];
        v.extend_from_slice(b"SESSION001");
        v.extend_from_slice(b"99999999999999999999");
        assert!(matches!(
            decode(&v),
            Err(SoupError::BadField {
                field: "sequence number",
                ..
            })
        ));
    }

    #[test]
    fn encode_errors() {
        let mut v = vec![1u8];
        assert!(matches!(
            encode(
                &Packet::LoginRequest {
                    username: b"TOOLONGNAME",
                    password: b"",
                    session: b"",
                    sequence: 0
                },
                &mut v
            ),
            Err(SoupError::FieldTooLong { .. })
        ));
        assert_eq!(v, [1u8], "nothing written on error");
        let big = vec![0u8; 70_000];
        assert!(matches!(
            encode(&Packet::SequencedData(&big), &mut v),
            Err(SoupError::TooLong { .. })
        ));
        let mut small = [0u8; 2];
        assert!(matches!(
            encode_into(&Packet::ClientHeartbeat, &mut small),
            Err(SoupError::BufferTooSmall { need: 3, have: 2 })
        ));
    }
}
