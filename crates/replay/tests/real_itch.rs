//! The ITCH reader on the bundled real capture (tests/data/AAPL_20191230_0935.itch50).

use std::io::Write;
use std::path::PathBuf;

use ferrex_replay::itch::{self, ItchError, ItchMessage, ItchReader};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

fn aapl() -> Vec<u8> {
    itch::read_file(data("AAPL_20191230_0935.itch50")).unwrap()
}

#[test]
fn counts_by_type_match_the_readme() {
    let buf = aapl();
    assert_eq!(buf.len(), 1_476_474);
    let c = itch::count_types(&buf).unwrap();
    let expect = [
        (b'D', 24_150),
        (b'A', 22_121),
        (b'E', 2_162),
        (b'U', 1_130),
        (b'P', 281),
        (b'X', 98),
        (b'C', 4),
        (b'F', 1),
    ];
    for (t, n) in expect {
        assert_eq!(c.get(t), n, "type {}", t as char);
    }
    assert_eq!(c.total, 49_947);
}

#[test]
fn fields_are_plausible() {
    let buf = aapl();
    let mut last_ts = 0;
    let (mut min_a, mut max_a) = (u32::MAX, 0);
    for r in ItchReader::new(&buf) {
        let (_, m) = r.unwrap();
        assert_eq!(m.stock_locate(), 13);
        assert!(m.timestamp() >= last_ts);
        last_ts = m.timestamp();
        match m {
            ItchMessage::AddOrder(a) | ItchMessage::AddOrderMpid(a) => {
                assert_eq!(itch::trim_alpha(a.stock), b"AAPL");
                min_a = min_a.min(a.price);
                max_a = max_a.max(a.price);
            }
            ItchMessage::Trade(p) => assert_eq!(itch::trim_alpha(p.stock), b"AAPL"),
            _ => {}
        }
    }
    // README: A prices 283.00–292.46, timestamps 09:35:00.000155705 .. 09:39:36.663325325.
    assert_eq!((min_a, max_a), (2_830_000, 2_924_600));
    assert_eq!(
        last_ts,
        9 * 3_600_000_000_000 + 39 * 60_000_000_000 + 36_663_325_325
    );
}

#[test]
fn gzip_decodes_identically() {
    let raw = std::fs::read(data("AAPL_20191230_0935.itch50")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&raw).unwrap();
    let gz = enc.finish().unwrap();
    assert!(itch::is_gzip(&gz));
    let dec = itch::decompress_if_gzip(&gz).unwrap();
    let a: Vec<_> = ItchReader::new(&raw).map(|r| r.unwrap()).collect();
    let b: Vec<_> = ItchReader::new(&dec).map(|r| r.unwrap()).collect();
    assert_eq!(a.len(), 49_947);
    assert_eq!(a, b);
    // And through read_file on a .gz on disk.
    let path = std::env::temp_dir().join(format!("ferrex_itch_{}.itch50.gz", std::process::id()));
    std::fs::write(&path, &gz).unwrap();
    let from_file = itch::read_file(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(from_file, raw);
}

#[test]
fn corrupt_gzip_is_an_error() {
    let raw = std::fs::read(data("AAPL_20191230_0935.itch50")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&raw[..10_000]).unwrap();
    let mut gz = enc.finish().unwrap();
    gz.truncate(gz.len() / 2);
    assert!(matches!(
        itch::decompress_if_gzip(&gz),
        Err(ItchError::Gzip { .. })
    ));
}

#[test]
fn truncated_real_file_names_the_last_frame() {
    let buf = aapl();
    let (last_off, last_msg) = ItchReader::new(&buf).last().unwrap().unwrap();
    let last_len = ferrex_replay::itch::body_len(last_msg.msg_type()).unwrap();
    let cut = &buf[..buf.len() - 5];
    let mut n = 0;
    let mut err = None;
    for r in ItchReader::new(cut) {
        match r {
            Ok(_) => n += 1,
            Err(e) => err = Some(e),
        }
    }
    assert_eq!(n, 49_946);
    let e = err.unwrap();
    assert_eq!(last_off as usize + 2 + last_len, buf.len());
    match &e {
        ItchError::Truncated {
            offset,
            expected,
            available,
            ..
        } => {
            assert_eq!(*offset, last_off);
            assert_eq!((*expected, *available), (last_len, last_len - 5));
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains(&format!("byte offset {last_off}")));
}
