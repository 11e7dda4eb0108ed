//! `ferrex serve` with one OUCH session in the `ouch-connect-5.0.1` client-quirk dialect (not
//! the OUCH 5.0 spec; see `ferrex_gateway::ouch`): that session gets the client's layouts in
//! both directions (48-byte Enter Order, 9-byte Cancel Order, Accepted / Replaced with a 9-byte
//! Symbol, Order Canceled with OrigUserRefNum), while a spec session trades against it
//! unchanged, byte for byte.

mod serve_common;

use ferrex_gateway::ouch::{
    CancelOrder, ClOrdId, Dialect, Display, Inbound, LiquidityFlag, OrderState, OuchCancelReason,
    OuchPrice, OuchSide, OuchTif, Outbound, ReplaceOrder, UserRefNum, compat_len, len,
};
use ferrex_gateway::server::ServerConfig;
use ferrex_gateway::soupbin::Packet;
use serve_common::*;

const D: Dialect = Dialect::OuchConnect501;

fn compat_config() -> ServerConfig {
    ServerConfig {
        ouch_dialects: vec![("OUCH02".into(), D)],
        ..config()
    }
}

fn send_compat(c: &mut OuchClient, m: &Inbound<'_>) {
    let mut payload = Vec::new();
    m.encode_dialect(&mut payload, D).unwrap();
    c.send_packet(&Packet::UnsequencedData(&payload));
}

#[test]
fn compat_session_trades_in_its_own_layouts() {
    let srv = start(compat_config());
    let a = srv.ouch_addr();
    let mut oc = OuchClient::logged_in(a, "OUCH02", "secret02");
    let mut spec = OuchClient::logged_in(a, "OUCH01", "secret01");

    // Enter Order (48 bytes) -> Order Accepted (65 bytes, Symbol 9 wide).
    let u = UserRefNum(1);
    let eo = enter_order(u, OuchSide::Sell, 100, MSFT, 1_002_500, OuchTif::Day, b"S1");
    send_compat(&mut oc, &Inbound::Enter(eo));
    let m = oc.recv_msg();
    assert_eq!(m.len(), compat_len::ACCEPTED, "{m:?}");
    assert_eq!(&m[18..27], b"MSFT     ");
    let Ok(Outbound::Accepted(acc)) = Outbound::decode_dialect(&m, D) else {
        panic!("{m:?}")
    };
    assert_eq!(acc.user_ref_num, u);
    assert_eq!((acc.side, acc.quantity), (OuchSide::Sell, 100));
    assert_eq!(acc.price, OuchPrice(1_002_500));
    assert_eq!(acc.order_state, OrderState::Live);
    assert_eq!(acc.cl_ord_id.trimmed(), b"S1");

    // Replace Order (the spec's 40 bytes) -> Order Replaced (69 bytes).
    let u2 = UserRefNum(2);
    send_compat(
        &mut oc,
        &Inbound::Replace(ReplaceOrder {
            orig_user_ref_num: u,
            user_ref_num: u2,
            quantity: 80,
            price: OuchPrice(1_002_500),
            time_in_force: OuchTif::Day,
            display: Display::Visible,
            intermarket_sweep: false,
            cl_ord_id: ClOrdId::new(b"S2").unwrap(),
            appendage: Default::default(),
        }),
    );
    let m = oc.recv_msg();
    assert_eq!(m.len(), compat_len::REPLACED, "{m:?}");
    let Ok(Outbound::Accepted(rep)) = Outbound::decode_dialect(&m, D) else {
        panic!("{m:?}")
    };
    assert_eq!(rep.orig_user_ref_num, Some(u));
    assert_eq!((rep.user_ref_num, rep.quantity), (u2, 80));
    assert_eq!(rep.order_reference_number, acc.order_reference_number);

    // A spec session hits it: each side gets Order Executed in the (shared) spec layout.
    let b = spec.enter(OuchSide::Buy, 30, MSFT, 1_002_500, OuchTif::Day);
    let t = spec.recv_msg();
    assert_eq!(t.len(), len::ACCEPTED, "the spec session's Accepted: {t:?}");
    assert!(matches!(out(&t), Outbound::Accepted(a) if a.user_ref_num == b));
    let t = spec.recv_msg();
    assert_eq!(t.len(), len::EXECUTED);
    let Outbound::Executed(te) = out(&t) else {
        panic!("{t:?}")
    };
    assert_eq!((te.user_ref_num, te.quantity), (b, 30));
    let m = oc.recv_msg();
    let Ok(Outbound::Executed(me)) = Outbound::decode_dialect(&m, D) else {
        panic!("{m:?}")
    };
    assert_eq!((me.user_ref_num, me.quantity), (u2, 30));
    assert_eq!(me.liquidity_flag, LiquidityFlag::Added);
    assert_eq!(me.match_number, te.match_number);

    // Cancel Order (9 bytes) -> Order Canceled (22 bytes, OrigUserRefNum = UserRefNum).
    send_compat(
        &mut oc,
        &Inbound::Cancel(CancelOrder {
            user_ref_num: u2,
            quantity: 0,
            appendage: Default::default(),
        }),
    );
    let m = oc.recv_msg();
    assert_eq!(m.len(), compat_len::CANCELED, "{m:?}");
    assert_eq!(m[9..13], m[13..17], "OrigUserRefNum = UserRefNum");
    let Ok(Outbound::Canceled(x)) = Outbound::decode_dialect(&m, D) else {
        panic!("{m:?}")
    };
    assert_eq!((x.user_ref_num, x.quantity), (u2, 50));
    assert_eq!(x.reason, OuchCancelReason::UserRequested);

    // The spec's 11-byte Cancel Order is a length error on the compat session (Debug packet,
    // session goes on), and the compat 9-byte one is a length error on a spec session.
    let mut spec_cancel = Vec::new();
    Inbound::Cancel(CancelOrder {
        user_ref_num: u2,
        quantity: 0,
        appendage: Default::default(),
    })
    .encode(&mut spec_cancel)
    .unwrap();
    oc.send_packet(&Packet::UnsequencedData(&spec_cancel));
    assert!(matches!(oc.recv(), Soup::Debug(t) if t.contains("length 11")));
    spec.send_packet(&Packet::UnsequencedData(&spec_cancel[..9]));
    assert!(matches!(spec.recv(), Soup::Debug(t) if t.contains("length 9")));
    drop((oc, spec));
    srv.stop().unwrap();
}

#[test]
fn dialect_for_an_unknown_username_is_refused() {
    let cfg = ServerConfig {
        ouch_dialects: vec![("NOBODY".into(), D)],
        ..config()
    };
    assert!(ferrex_gateway::server::Server::start(cfg, engine()).is_err());
}
