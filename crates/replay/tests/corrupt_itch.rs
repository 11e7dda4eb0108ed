//! Hand-made corrupt ITCH inputs: each gives the expected error with its offset, never a panic.

use ferrex_replay::itch::{ItchError, ItchReader, TypeByte, encode};

fn add(ref_: u64) -> Vec<u8> {
    encode::add_order(1, 1000, ref_, b'B', 100, b"TEST    ", 1_000_000)
}

fn two_adds() -> Vec<u8> {
    let mut buf = Vec::new();
    encode::frame(&mut buf, &add(1));
    encode::frame(&mut buf, &add(2));
    buf
}

fn last_err(buf: &[u8]) -> (usize, ItchError) {
    let mut ok = 0;
    for r in ItchReader::new(buf) {
        match r {
            Ok(_) => ok += 1,
            Err(e) => return (ok, e),
        }
    }
    panic!("no error, {ok} messages")
}

#[test]
fn clean_input() {
    let buf = two_adds();
    assert_eq!(ItchReader::new(&buf).filter(|r| r.is_ok()).count(), 2);
}

#[test]
fn truncated_body() {
    let mut buf = two_adds();
    buf.truncate(buf.len() - 1);
    let (ok, e) = last_err(&buf);
    assert_eq!(ok, 1);
    assert!(
        matches!(
            e,
            ItchError::Truncated {
                offset: 38,
                expected: 36,
                available: 35,
                what: "message body"
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "truncated frame at byte offset 38: expected 36 bytes (message body), only 35 left"
    );
}

#[test]
fn truncated_length_prefix() {
    let mut buf = two_adds();
    buf.push(0);
    let (ok, e) = last_err(&buf);
    assert_eq!(ok, 2);
    assert!(
        matches!(
            e,
            ItchError::Truncated {
                offset: 76,
                expected: 2,
                available: 1,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn wrong_length_for_type() {
    let mut buf = Vec::new();
    encode::frame(&mut buf, &add(1));
    let mut short = add(2);
    short.pop();
    encode::frame(&mut buf, &short);
    let (ok, e) = last_err(&buf);
    assert_eq!(ok, 1);
    match &e {
        ItchError::LengthMismatch {
            offset: 38,
            msg_type: TypeByte(b'A'),
            expected: 36,
            found: 35,
        } => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "length mismatch at byte offset 38: message type 'A' must be 36 bytes, frame says 35"
    );
}

#[test]
fn length_beyond_buffer_with_wrong_type_length() {
    // A frame that claims 200 bytes for a 'D' (19): reported as a length mismatch, not truncation.
    let mut buf = vec![0, 200, b'D'];
    buf.extend_from_slice(&[0; 30]);
    let (_, e) = last_err(&buf);
    assert!(
        matches!(
            e,
            ItchError::LengthMismatch {
                offset: 0,
                expected: 19,
                found: 200,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn unknown_type() {
    let mut buf = two_adds();
    encode::frame(&mut buf, b"Zxxxxxxxxxxx");
    let (ok, e) = last_err(&buf);
    assert_eq!(ok, 2);
    assert!(
        matches!(
            e,
            ItchError::UnknownType {
                offset: 76,
                msg_type: TypeByte(b'Z')
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "unknown message type 'Z' at byte offset 76");
}

#[test]
fn garbage_bytes() {
    let buf: Vec<u8> = (0..1000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let results: Vec<_> = ItchReader::new(&buf).collect();
    assert!(results.last().unwrap().is_err());
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
}

#[test]
fn empty_frame_and_bad_side() {
    let (_, e) = last_err(&[0, 0, b'A']);
    assert!(matches!(e, ItchError::EmptyFrame { offset: 0 }));
    let mut body = add(1);
    body[19] = b'X';
    let mut buf = Vec::new();
    encode::frame(&mut buf, &body);
    let (_, e) = last_err(&buf);
    assert_eq!(
        e.to_string(),
        "invalid buy/sell indicator 'X' in message type 'A' at byte offset 0: expected 'B' or 'S'"
    );
}
