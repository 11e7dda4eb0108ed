//! End to end without sockets: client bytes → SoupBinTCP → OUCH → order table → ferrex Command;
//! ferrex Event → OUCH → SoupBinTCP session → client bytes. The shape the server thread follows.

use ferrex_gateway::ouch::{
    Appendage, Capacity, ClOrdId, CrossType, Display, EnterOrder, Inbound, OuchPrice, OuchSide,
    OuchTif, Outbound, Symbol, UserRefNum,
};
use ferrex_gateway::ouch_map::{OuchMapConfig, event_to_outbound, inbound_to_command};
use ferrex_gateway::ouch_orders::OuchOrderTable;
use ferrex_gateway::soupbin::{self, Packet};
use ferrex_gateway::soupbin_session::{SoupConfig, SoupSession};
use ferrex_types::{
    AccountId, CommandKind, Event, EventKind, InstrumentId, OrderId, Price, Qty, Side,
};

#[test]
fn enter_order_round_trip_through_every_layer() {
    let cfg = OuchMapConfig {
        account: AccountId(3),
        units_per_tick: 100,
    };
    let mut table = OuchOrderTable::new([(Symbol::new(b"ACME").unwrap(), InstrumentId(0))]);
    let mut session = SoupSession::new(SoupConfig::new(b"SESS1"));
    session.on_connect(0);
    let mut next_id = 0u64;

    // Client side: login + one Enter Order.
    let mut wire = Vec::new();
    soupbin::encode(
        &Packet::LoginRequest {
            username: b"ACME01",
            password: b"pw",
            session: b"",
            sequence: 1,
        },
        &mut wire,
    )
    .unwrap();
    let enter = Inbound::Enter(EnterOrder {
        user_ref_num: UserRefNum(1),
        side: OuchSide::Buy,
        quantity: 100,
        symbol: Symbol::new(b"ACME").unwrap(),
        price: OuchPrice(250_000),
        time_in_force: OuchTif::Day,
        display: Display::Visible,
        capacity: Capacity::Agency,
        intermarket_sweep: false,
        cross_type: CrossType::Continuous,
        cl_ord_id: ClOrdId::new(b"X1").unwrap(),
        appendage: Appendage::EMPTY,
    });
    let mut payload = Vec::new();
    enter.encode(&mut payload).unwrap();
    soupbin::encode(&Packet::UnsequencedData(&payload), &mut wire).unwrap();

    // Server side: frame, session, decode, map.
    let mut out = Vec::new();
    let mut commands = Vec::new();
    let mut at = 0;
    while let Some((p, n)) = soupbin::decode(&wire[at..]).unwrap() {
        at += n;
        let step = session.on_packet(&p, 1, &mut out, |u, pw| u == b"ACME01" && pw == b"pw");
        if let Some(msg) = step.app {
            let m = Inbound::decode(msg).unwrap();
            table
                .on_inbound(&m, &cfg, || {
                    next_id += 1;
                    OrderId(next_id)
                })
                .unwrap();
            commands.push(inbound_to_command(&m, 1, &cfg, &table).unwrap());
        }
    }
    assert_eq!(commands.len(), 1);
    let CommandKind::New(n) = commands[0].kind else {
        panic!("not a new order")
    };
    assert_eq!(
        (n.order_id, n.price, n.qty, n.side),
        (OrderId(1), Price(2_500), Qty(100), Side::Buy)
    );

    // Engine answers; the session sends it sequenced.
    let ev = Event {
        seq: 1,
        cmd_seq: 1,
        time: 1,
        kind: EventKind::Accepted {
            order_id: OrderId(1),
            account: AccountId(3),
            instrument: InstrumentId(0),
            side: Side::Buy,
            price: Price(2_500),
            qty: Qty(100),
        },
    };
    for msg in event_to_outbound(&ev, 34_200_000_000_000, &cfg, &table) {
        let mut bytes = Vec::new();
        msg.encode(&mut bytes).unwrap();
        session.send_sequenced(&bytes, 2, &mut out);
    }
    table.on_event(&ev);

    // Client reads: Login Accepted (next sequence 1), then the Accepted message.
    let mut at = 0;
    let mut got = Vec::new();
    while let Some((p, n)) = soupbin::decode(&out[at..]).unwrap() {
        at += n;
        got.push(p);
    }
    assert_eq!(
        got[0],
        Packet::LoginAccepted {
            session: b"SESS1",
            sequence: 1
        }
    );
    let Packet::SequencedData(d) = got[1] else {
        panic!("expected sequenced data")
    };
    let Outbound::Accepted(a) = Outbound::decode(d).unwrap() else {
        panic!("expected Accepted")
    };
    assert_eq!(a.user_ref_num, UserRefNum(1));
    assert_eq!(a.price, OuchPrice(250_000));
    assert_eq!(a.order_reference_number, 1);
}
