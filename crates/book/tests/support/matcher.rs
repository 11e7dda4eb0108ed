//! One interface over `ferrex_book::Book` and `ReferenceBook`, so hand-computed scenarios run on
//! both.
#![allow(dead_code)]

use ferrex_book::{Book, BookConfig};
use ferrex_types::{
    AccountId, CancelOrder, EventKind, InstrumentId, ModifyOrder, NewOrder, OrderId, Price, Qty,
    Side,
};

use crate::reference::{RefLevel, RefOrderView, ReferenceBook};

/// The operations and queries the scenarios use.
pub trait Matcher {
    fn create(instrument: InstrumentId, cfg: BookConfig) -> Self;
    fn new_order(&mut self, o: &NewOrder, now: u64, sink: &mut Vec<EventKind>);
    fn cancel(&mut self, c: &CancelOrder, now: u64, sink: &mut Vec<EventKind>);
    fn modify(&mut self, m: &ModifyOrder, now: u64, sink: &mut Vec<EventKind>);
    fn mass_cancel(&mut self, account: AccountId, now: u64, sink: &mut Vec<EventKind>);
    fn expire(&mut self, now: u64, sink: &mut Vec<EventKind>);
    fn fill_resting(&mut self, id: OrderId, q: Qty, now: u64, sink: &mut Vec<EventKind>) -> bool;
    fn reduce_resting(&mut self, id: OrderId, q: Qty, sink: &mut Vec<EventKind>) -> bool;
    fn best_bid(&self) -> Option<Price>;
    fn best_ask(&self) -> Option<Price>;
    fn depth(&self, side: Side) -> Vec<RefLevel>;
    fn level(&self, side: Side, price: Price) -> Option<RefLevel>;
    fn order(&self, id: OrderId) -> Option<RefOrderView>;
    fn is_head_of_level(&self, id: OrderId) -> bool;
    fn live_orders(&self) -> usize;
    fn last_trade_price(&self) -> Option<Price>;
    fn next_expiry(&self) -> Option<u64>;
}

impl Matcher for ReferenceBook {
    fn create(instrument: InstrumentId, cfg: BookConfig) -> Self {
        ReferenceBook::new(instrument, cfg)
    }
    fn new_order(&mut self, o: &NewOrder, now: u64, sink: &mut Vec<EventKind>) {
        ReferenceBook::new_order(self, o, now, sink)
    }
    fn cancel(&mut self, c: &CancelOrder, now: u64, sink: &mut Vec<EventKind>) {
        ReferenceBook::cancel(self, c, now, sink)
    }
    fn modify(&mut self, m: &ModifyOrder, now: u64, sink: &mut Vec<EventKind>) {
        ReferenceBook::modify(self, m, now, sink)
    }
    fn mass_cancel(&mut self, account: AccountId, now: u64, sink: &mut Vec<EventKind>) {
        ReferenceBook::mass_cancel(self, account, now, sink)
    }
    fn expire(&mut self, now: u64, sink: &mut Vec<EventKind>) {
        ReferenceBook::expire(self, now, sink)
    }
    fn fill_resting(&mut self, id: OrderId, q: Qty, now: u64, sink: &mut Vec<EventKind>) -> bool {
        ReferenceBook::fill_resting(self, id, q, now, sink)
    }
    fn reduce_resting(&mut self, id: OrderId, q: Qty, sink: &mut Vec<EventKind>) -> bool {
        ReferenceBook::reduce_resting(self, id, q, sink)
    }
    fn best_bid(&self) -> Option<Price> {
        ReferenceBook::best_bid(self)
    }
    fn best_ask(&self) -> Option<Price> {
        ReferenceBook::best_ask(self)
    }
    fn depth(&self, side: Side) -> Vec<RefLevel> {
        ReferenceBook::depth(self, side)
    }
    fn level(&self, side: Side, price: Price) -> Option<RefLevel> {
        ReferenceBook::level(self, side, price)
    }
    fn order(&self, id: OrderId) -> Option<RefOrderView> {
        ReferenceBook::order(self, id)
    }
    fn is_head_of_level(&self, id: OrderId) -> bool {
        ReferenceBook::is_head_of_level(self, id)
    }
    fn live_orders(&self) -> usize {
        ReferenceBook::live_orders(self)
    }
    fn last_trade_price(&self) -> Option<Price> {
        ReferenceBook::last_trade_price(self)
    }
    fn next_expiry(&self) -> Option<u64> {
        ReferenceBook::next_expiry(self)
    }
}

fn level_of(l: ferrex_book::LevelView) -> RefLevel {
    RefLevel {
        price: l.price,
        qty: l.qty,
        orders: l.orders,
    }
}

impl Matcher for Book {
    fn create(instrument: InstrumentId, cfg: BookConfig) -> Self {
        Book::new(instrument, cfg).expect("valid config")
    }
    fn new_order(&mut self, o: &NewOrder, now: u64, sink: &mut Vec<EventKind>) {
        Book::new_order(self, o, now, sink)
    }
    fn cancel(&mut self, c: &CancelOrder, now: u64, sink: &mut Vec<EventKind>) {
        Book::cancel(self, c, now, sink)
    }
    fn modify(&mut self, m: &ModifyOrder, now: u64, sink: &mut Vec<EventKind>) {
        Book::modify(self, m, now, sink)
    }
    fn mass_cancel(&mut self, account: AccountId, now: u64, sink: &mut Vec<EventKind>) {
        Book::mass_cancel(self, account, now, sink)
    }
    fn expire(&mut self, now: u64, sink: &mut Vec<EventKind>) {
        Book::expire(self, now, sink)
    }
    fn fill_resting(&mut self, id: OrderId, q: Qty, now: u64, sink: &mut Vec<EventKind>) -> bool {
        Book::fill_resting(self, id, q, now, sink)
    }
    fn reduce_resting(&mut self, id: OrderId, q: Qty, sink: &mut Vec<EventKind>) -> bool {
        Book::reduce_resting(self, id, q, sink)
    }
    fn best_bid(&self) -> Option<Price> {
        Book::best_bid(self)
    }
    fn best_ask(&self) -> Option<Price> {
        Book::best_ask(self)
    }
    fn depth(&self, side: Side) -> Vec<RefLevel> {
        let mut v = Vec::new();
        Book::for_each_level(self, side, |l| v.push(level_of(l)));
        v
    }
    fn level(&self, side: Side, price: Price) -> Option<RefLevel> {
        Book::level(self, side, price).map(level_of)
    }
    fn order(&self, id: OrderId) -> Option<RefOrderView> {
        Book::order(self, id).map(|o| RefOrderView {
            order_id: o.order_id,
            account: o.account,
            side: o.side,
            price: o.price,
            stop_price: o.stop_price,
            leaves: o.leaves,
            visible: o.visible,
            is_stop: o.is_stop,
        })
    }
    fn is_head_of_level(&self, id: OrderId) -> bool {
        Book::is_head_of_level(self, id)
    }
    fn live_orders(&self) -> usize {
        Book::live_orders(self)
    }
    fn last_trade_price(&self) -> Option<Price> {
        Book::last_trade_price(self)
    }
    fn next_expiry(&self) -> Option<u64> {
        Book::next_expiry(self)
    }
}
