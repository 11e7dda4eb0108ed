//! The LOBSTER reader on the bundled samples.

use std::path::PathBuf;

use ferrex_replay::lobster::{self, EventType, LobsterError, LobsterPair};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

fn pair(ticker: &str, levels: usize) -> LobsterPair {
    let base = format!("{ticker}_2012-06-21_34200000_57600000");
    LobsterPair::open(
        data(&format!("{base}_message_{levels}.csv")),
        data(&format!("{base}_orderbook_{levels}.csv")),
        None,
    )
    .unwrap()
}

#[test]
fn amzn_level1_counts() {
    let p = pair("AMZN", 1);
    assert_eq!(p.levels(), 1);
    let c = lobster::count(&p).unwrap();
    assert_eq!(c.rows, 57_515);
    assert_eq!(&c.by_type[1..], &[27_845, 16, 18_235, 8_974, 2_445, 0, 0]);
    assert_eq!(
        c.time_range,
        (
            34_200_017_459_617,
            57_599_959_000_000 + c.time_range.1 % 1_000_000
        )
    );
    assert!(c.time_range.1 / 1_000_000 == 57_599_959);
}

#[test]
fn aapl_level10_counts_and_rows() {
    let p = pair("AAPL", 10);
    assert_eq!(p.levels(), 10);
    let c = lobster::count(&p).unwrap();
    assert_eq!(c.rows, 999);
    assert_eq!(&c.by_type[1..], &[471, 0, 369, 98, 61, 0, 0]);
    let (line, m, row) = p.iter().next().unwrap().unwrap();
    assert_eq!(line, 1);
    assert_eq!(m.event, EventType::Submit);
    assert_eq!((m.order_id, m.size, m.price), (16_113_575, 18, 5_853_300));
    assert_eq!(row.asks.len(), 10);
    assert_eq!(row.bids.len(), 10);
    assert_eq!((row.asks[0].price, row.asks[0].size), (5_859_400, 200));
    assert_eq!((row.bids[9].price, row.bids[9].size), (5_842_700, 300));
}

#[test]
fn every_execution_is_at_the_previous_best() {
    // README sanity check: each type-4 execution is at the previous row's best resting price.
    for (t, l, n) in [("AMZN", 1, 8_974), ("AAPL", 10, 98)] {
        let p = pair(t, l);
        let mut prev: Option<lobster::BookRow> = None;
        let mut hits = 0;
        for r in p.iter() {
            let (_, m, row) = r.unwrap();
            if m.event == EventType::ExecuteVisible {
                let best = prev.as_ref().unwrap().side(m.side)[0].price;
                assert_eq!(best, m.price);
                hits += 1;
            }
            prev = Some(row);
        }
        assert_eq!(hits, n);
    }
}

fn bad(messages: &str, orderbook: &str) -> LobsterError {
    let p = LobsterPair::from_strings(
        "m.csv".into(),
        messages.into(),
        "o.csv".into(),
        orderbook.into(),
        None,
    );
    match p {
        Err(e) => e,
        Ok(p) => p.iter().find_map(|r| r.err()).expect("an error"),
    }
}

#[test]
fn bad_fields_name_file_line_and_field() {
    let ok_m = "34200.1,1,5,100,2238100,1\n";
    let ok_o = "2239500,100,2238100,100\n";
    let e = bad(
        &format!("{ok_m}34200.2,1,6,1x0,2238100,1\n"),
        &ok_o.repeat(2),
    );
    assert_eq!(
        e.to_string(),
        "m.csv:2: field size = \"1x0\": expected a non-negative integer"
    );
    let e = bad(
        &format!("{ok_m}34200.2,9,6,100,2238100,1\n"),
        &ok_o.repeat(2),
    );
    assert!(
        e.to_string().starts_with("m.csv:2: field type = \"9\""),
        "{e}"
    );
    let e = bad(
        &format!("{ok_m}34200.2,1,6,100,2238100,0\n"),
        &ok_o.repeat(2),
    );
    assert!(e.to_string().starts_with("m.csv:2: field direction"), "{e}");
    let e = bad(
        &format!("{ok_m}3420a.2,1,6,100,2238100,1\n"),
        &ok_o.repeat(2),
    );
    assert!(e.to_string().starts_with("m.csv:2: field time"), "{e}");
    let e = bad(&format!("{ok_m}34200.2,1,6,100,2238100\n"), &ok_o.repeat(2));
    assert_eq!(e.to_string(), "m.csv:2: 5 columns, expected 6");
    let e = bad(
        &ok_m.repeat(2),
        &format!("{ok_o}2239500,100,22381.00,100\n"),
    );
    assert!(
        e.to_string()
            .starts_with("o.csv:2: field bid_px1 = \"22381.00\""),
        "{e}"
    );
    let e = bad(&ok_m.repeat(2), &format!("{ok_o}2239500,100,2238100\n"));
    assert_eq!(e.to_string(), "o.csv:2: 3 columns, expected 4");
    let e = bad(&ok_m.repeat(3), &ok_o.repeat(2));
    assert_eq!(e.to_string(), "m.csv has a line 3 but o.csv ends at line 2");
    let e = bad(ok_m, "1,2,3\n");
    assert!(
        matches!(
            e,
            LobsterError::Columns {
                line: 1,
                found: 3,
                ..
            }
        ),
        "{e:?}"
    );
}
