//! ferrex-risk: the inline pre-trade risk layer.
//!
//! [`Risk`] runs on the engine thread between the sequencer and the book. Every new order,
//! modify and cancel passes one of its checks before it can touch a book; every event the book
//! emits goes back through [`Risk::on_event`] so the state the checks read (open orders,
//! exposure, positions, last trade, velocity and MMP windows) stays exact. All state is
//! preallocated from a [`RiskConfig`]; nothing allocates, locks, logs or panics afterwards, and
//! all price × quantity arithmetic is done in `i128` (or saturating).
//!
//! # Controls, rules and reject reasons
//! Each reject carries `(reason, limit, value)`: the limit that applied and the value that broke
//! it.
//!
//! | control | rule | reason (limit, value) |
//! | --- | --- | --- |
//! | unknown account / instrument | id not configured (an optional `default_account` profile covers unlisted ids below `max_accounts`) | `UnknownAccount` (0, id), `UnknownInstrument` (0, id) |
//! | trading state, account | HALTED (command or kill): no new orders or modifies; cancels pass. REDUCING: only reducing orders | `AccountHalted` (0, 0), `AccountReducing` (room, qty) |
//! | message throttle | token bucket, `rate` messages per `window_ns` of engine time, for new, modify and cancel, counted even when the message is refused for naming an unknown instrument or an order the book does not hold (`Risk::check_message`); a second bucket of `halt_threshold` per window halts the account for `halt_ns` (0 = until `SetAccountState`) and emits `AccountState { Halted, cause: Throttled }` | `Throttled` (rate, rate + 1), on the halting message (halt_threshold, halt_threshold + 1); while halted `AccountHalted` (0, until) |
//! | trading state, instrument | HALTED: no new orders or modifies; REDUCING: only reducing orders | `InstrumentHalted` (0, 0), `InstrumentReducing` (room, qty) |
//! | MMP freeze | account frozen by market-maker protection: no new orders or modifies | `MmpFrozen` (0, until; 0 = until `ResetMmp`) |
//! | quantity | qty 0; qty not a multiple of the lot; qty outside `min_qty..=max_qty` | `InvalidQty` (0, 0), `LotSize` (lot, qty), `OutsideMinMax` (min or max, qty) |
//! | price | limit price (Limit, StopLimit) and stop price (Stop, StopLimit) within `min_price..=max_price` and a multiple of the tick | `OutsideMinMax` (min or max, price), `TickSize` (tick, price) |
//! | volatility interruption | trade prices spanning more than `max_move_ticks` within `window_ns` halt the instrument for `halt_ns` (`InstrumentState { Halted, cause: VolatilityHalt, until }`); meanwhile market orders and limits that would cross the opposite best are rejected, passive limits and stops pass | `VolatilityHalt` (opposite best or 0, price or 0) |
//! | max order quantity | qty ≤ min(account, instrument) `max_order_qty` | `MaxOrderQty` (max, qty) |
//! | reduce-only | an order flagged `REDUCE_ONLY` needs side opposite to the position and qty + open orders on its side ≤ \|position\|; rejected whole, never trimmed | `ReduceOnly` (room, qty) |
//! | max open orders | resting orders (limit orders but IOC/FOK, and stop orders whatever their time in force: a pending stop rests) per account and per account+instrument; also live orders in all (`max_orders`) | `MaxOpenOrders` (max, count + 1) |
//! | position limit | buy: position + open buys + qty ≤ `max_long`; sell: −position + open sells + qty ≤ `max_short` | `PositionLimit` (max, value) |
//! | price band (collar) | Limit: \|price − ref\| ≤ width; ref = last trade, else mid, else configured/commanded reference (no ref: no check); StopLimit: ref = its stop price; Market and Stop skip; width = ref × bps / 10 000 or ticks × tick | `PriceOutsideBand` (band edge, price) |
//! | max order notional | price × qty (i128) ≤ min(account, instrument) `max_order_notional`; market buy valued at best ask + protection, market sell at best bid, stop at the stop price (+ protection for a buy) | `MaxOrderNotional` (max, notional) |
//! | credit limit | exposure + order notional ≤ `credit_limit`; exposure = Σ open orders' reserve price × leaves + Σ \|position\| × last trade price | `CreditLimit` (limit, exposure after) |
//! | kill switch | `RiskControl::Kill`: account HALTED, `AccountState { Halted, cause: AccountHalted }`, returns `RiskAction::CancelAccount` | — |
//! | market-maker protection | fills of `MMP`-flagged orders of an account with `mmp` config, in a tumbling window of `window_ns`: lots > `max_qty` or fills > `max_count` freeze the account for `freeze_ns` (0 = until `ResetMmp`), emit `AccountState { Halted, cause: MmpFrozen }` and return `RiskAction::CancelMmp` | `MmpFrozen` on later orders |
//!
//! Done by the book, not here (documented, not duplicated):
//! - **Market order protection**: the book caps market and triggered stop orders at the best
//!   opposite price at entry ± `market_protection_ticks` and cancels the remainder
//!   (`CancelReason::MarketProtection`); the value is configured per instrument here and handed
//!   to the book through [`Risk::book_params`].
//! - **Duplicate order id**: the book rejects a new order whose id is live
//!   (`DuplicateOrderId`); gateways map client ids onto engine ids per session.
//!
//! # Engine integration (per command, in this order)
//! 1. `risk.tick(now, out)`: lifts timed halts/freezes, emits queued state events.
//! 2. New: `risk.check_new(&o, now, &mkt)`; modify: `risk.check_modify(&m, &snapshot, now,
//!    &mkt)`; cancel: `risk.check_cancel(&c, now)`. On `Err(r)` emit `Rejected { reason:
//!    r.reason, limit: r.limit, value: r.value, .. }`, then `risk.flush(out)` (a throttle halt's
//!    `AccountState`), and skip the book.
//! 3. On `Ok`, call the book; pass each event it emits, in order, to `risk.on_event(&ev, now,
//!    out)` (after emitting the event itself, so risk's own state events follow their cause).
//!    The engine checks a new order with `risk.check_new_entering` instead and passes the
//!    events of the book call entering it, and of that call only, to `risk.on_entered_event`:
//!    such a call emits one `Accepted` or one `Rejected`, both of that order, and its takers
//!    are that order or stops it triggered, so the check may do part of the order's upkeep
//!    ahead (see the Session 9 paragraph below).
//! 4. Risk commands: `risk.control(&c, now, out)`.
//! 5. Act on every non-`None` [`RiskAction`] after the book call returns: `CancelAccount(a)` →
//!    mass-cancel `a` on every book (reason `Kill`); `CancelMmp(a)` → copy `risk.mmp_orders(a)`
//!    into a preallocated buffer and cancel each (reason `Mmp`); feed those events back to
//!    `on_event` too.
//! 6. Build each `BookConfig` with the values of [`Risk::book_params`].
//!
//! A volatility halt or MMP freeze raised by a trade takes effect from the next command: the
//! command whose matching caused it completes.
//!
//! # Cost
//! `check_new` inlines to a call of one out-of-line function that answers in a register
//! (`bool`; the reject, if any, is read back from the risk layer), so the engine's command
//! loop keeps its registers and no result goes through memory. After the throttle, a plain
//! limit order (no reduce-only flag, no state set) takes a straight path: the static checks as
//! range compares, open orders, position (one checked i128 add or subtract, no saturation
//! needed), band edges cached per reference price (a miss refreshes the cache at once, out of
//! line), notional, and credit (one exact checked sum) with the exposure taken from the records
//! already at hand when the account holds no position or one in this instrument only (else one
//! pass over the instruments held). Anything unusual (a static check
//! failing, a position sum beyond i128, a full order table, a gate or a non-limit order) goes to
//! the precise, ordered sequence, which has no side effect before its end, so the first failing
//! check is always the one reported. Saturating i128 sums keep their saturating meaning with
//! the overflow case out of line. The throttle refills both token buckets without branches
//! within a window (a whole window or more goes to a cold path); an account under its rate
//! (both buckets at most one message below full and the refill time elapsed) is one compare
//! against a derived time (`fast_after`, set by that shortcut or a refill, "never" otherwise)
//! and four stores. `on_event` is O(1) and inlined into the caller as a bare dispatch (events
//! that cannot change risk state cost a compare). A plain order (a limit order, not MMP-flagged
//! or reduce-only: its reserve price is its book price) is in no table at all: its `Accepted`
//! adds to the account's and slot's counters (open orders, open quantity, open notional)
//! reusing the account and slot the check resolved, and each later event carries what taking
//! it back needs: a trade the maker's price and both sides' leaves after it, a `Cancelled` or
//! `Expired` the order's side, limit price and leaves after it. Only a taker's reserve is
//! missing from a trade (it trades at the maker's price); a plain order takes only in the
//! command that entered or re-priced it, so the risk layer keeps that one order's key, reserve,
//! account and slot (`Cur`) and matches the taker with one compare; a plain order's `Replaced`
//! undoes its old price and leaves as the book reported them to the passed `check_modify`. The
//! order table holds the rest (market, stop, MMP-flagged and reduce-only orders), and a
//! per-account count of them gates its lookup: an account with none pays no probe on a fill or
//! cancel; a removal reuses the index position its lookup found. `max_orders` bounds a count
//! of live orders. A transient order that is not plain (a market order or a reduce-only
//! IOC/FOK, not MMP-flagged: the book never rests it and always ends it within its command) is
//! kept from its `Accepted` to its end as the one "solo" order outside the table's index: its
//! fills and its cancel match it with one compare of its id instead of a hash probe, and it
//! needs no insert or backward-shift removal. It still holds a slab index (capacity and the
//! free list evolve as with an insert) and counts in open orders and exposure; snapshots write
//! it as a record, and a modify or replace of it settles it into the table first. `tick` is one
//! compare against the earlier of the next deadline and "an event is queued".
//!
//! Register pressure decides much of the count: every value the straight path keeps alive for
//! a rare exit is a spill and a reload on the common one. So the plain-limit path writes its
//! pending order (for the `Accepted`) first, while the order's fields are at hand (every way out
//! passes it as written or invalidates it), takes its throttle through the account reference
//! its checks read (a write through one table and the next table's lookup would be checked
//! again), and leaves for
//! the precise sequence through one cold function that looks the account and instrument up
//! again (`check_new_slow`), sums the exposure of two or more held instruments out of line
//! (`exposure_cold`), and writes each reject straight where `check_new` reads it (the check
//! path answers in a `bool` throughout, no `Result` joined through the stack); `Accepted`
//! upkeep for an order other than the one just checked is out of line too (`accepted_cold`).
//! New-order checks read the market through [`Market`]: the engine hands over its book, so a
//! plain limit order reads the book's last trade (for its band) instead of the engine building
//! a [`MarketView`] per order. Measured with `examples/cost.rs` (callgrind, instructions per
//! check including the harness loop's ~9; `valgrind --tool=callgrind target/release/examples/cost
//! N on|off` for N = 100,000 and 200,000, difference / 100,000): about 261 with every control of
//! `config/risk.toml` on (was 264, 290, and 335 before that), about 177 with no limits
//! configured (was 185, 205, and 215).
//!
//! In the engine, on the mixed stream of `benches/risk.rs` (`crates/engine/examples/risk_cost.rs`
//! under callgrind, `valgrind --tool=callgrind --toggle-collect='*run_stream*'
//! target/release/examples/risk_cost off|on`: 28,315,575 Ir off, 41,282,354 Ir on per 100,000
//! commands), the whole risk layer (checks, event upkeep, engine glue) adds about 130
//! instructions per command over the engine with risk off (was about 145: 28,699,447 off,
//! 43,168,754 on; and 180, 254, 270 and 345 before that). Risk on alone went from 431.7 to
//! 412.8 Ir per command: the solo transient order (-390,000 Ir), the plain-limit step tests
//! as one flag (-318,000), `tick` as one compare (-200,000), the engine building its risk tap
//! only where a book is called, with modify, mass cancel and risk commands in one out-of-line
//! helper (-843,000; risk off -384,000 too: the command loop it shares is smaller), two
//! smaller ones (-74,000) and the position sum as one checked i128 operation (-61,000). With
//! `--cache-sim=yes`, risk on: L1d misses 306,441 -> 303,124, last-level misses 9,819 -> 7,362
//! (a transient order no longer touches the 8 MB index); risk off 344,947 and 182.
//!
//! That figure understates the cost of the checks on orders that pass them. With the sample
//! config, 56,695 of the 100,000 commands are rejected (28,085 `MaxOpenOrders`, 8,846
//! `Throttled`, and 19,764 cancels of orders that were never accepted), and a rejected order
//! skips the book, so the difference nets the checks against book work saved. With every
//! control on at limits the stream never reaches (`config/risk-bench-pass.toml`,
//! `risk_cost pass`: the same event stream as risk off, hash for hash) it was 68,529,982 Ir
//! against 24,722,020 at the start of session 6, about 438 instructions per command (per
//! operation, callgrind inclusive: `check_new` about 254 per new order, `Accepted` upkeep about
//! 131, a trade about 412; the rest the cancel path and engine glue). Now 60,149,775 against
//! 22,416,981: about 377 per command, from the throttle's full-bucket shortcut, `Accepted` and
//! trade upkeep inlined into the engine's event dispatch, the velocity range in i64, the order
//! table's two-tier index and its insert inlined (61,758,950 without that). `cargo bench -p ferrex --bench risk`: about +44 ns per
//! command passing (was about +61 in alternating runs), +23 ns with the sample config.
//!
//! Session 7 (same commands): pass 60,149,775 -> 57,964,593 (about 355 instructions per
//! command over risk off, was 377; `check_new` about 214 per new order, was 241); sample
//! 37,622,660 -> 37,721,488. In steps: the one-instrument exposure tests the slot's own
//! position instead of reading the held list (-259,552); the pending order written first
//! (-650,324); the throttle shortcut as one compare (-863,964, but sample +626,941: its
//! throttled accounts take the general form behind one more compare and a store); the
//! plain-limit path's throttle through the account reference it reads (-298,129; sample
//! -194,254); `Accepted`, fill and cancel upkeep taking their slot and account references
//! before their first write (-44,562 and -68,651). Tried and dropped: the band-cache miss
//! carrying its computed edges to the cache instead of recomputing them (+126,148: the larger
//! record spilled on every order); `fast_after` exact, so the general form drops the shortcut
//! test (against the kept form: pass +81,466 and sample +860,096 with its rejects out of line,
//! +165,699 and +1,027,228 inline); before that, `fast_after` rearmed after every general
//! form (pass -923,000 but sample +1,780,000); the pending order carrying "transient" decided by
//! the check instead of its time in force (+182,722, sample +339,313).
//!
//! Session 8 (same commands, measured again at its start: off 21,887,123, pass 57,817,527,
//! sample 37,604,178; 359.3 per command passing): plain orders in no table (see above;
//! `Cancelled` gained the order's side, price and leaves after, `Expired` its side and price):
//! pass 51,745,139, sample 34,924,481, off 22,094,962 (+2.1 per command: the book's wider
//! `Cancelled`); a plain order's trade updating its counters and position through one pair of
//! references: pass 51,048,187, sample 34,578,707 (off unchanged); a cancel's account and
//! instrument read once for both their known flags and the account's table count: pass
//! 50,843,948, sample 34,465,664, off 22,094,962: about 287.5 instructions per command over
//! risk off. What the passing path still pays (callgrind): `check_new` about 214
//! per new order inclusive (139 per command); the risk layer's lines inlined into the engine
//! and the book (event upkeep, the cancel's throttle) about 68 per command; the rest the
//! engine's glue and the register pressure both leave in its command loop. Tried and dropped:
//! `on_trade_price` inlined (+81,544); the pending record doubling as the current plain order,
//! so its `Accepted` copies nothing (-335,347, sample -14,855: but any check between a plain
//! order's `Accepted` and its fills, which the engine never makes, would lose its reserve).
//!
//! Session 8, second pass (same commands, from off 22,094,962, pass 50,843,948, sample 34,465,664):
//! a band cache miss of the plain-limit path refreshes the cache at once, out of line
//! (`band_refresh`: the cache maps a reference to its width whatever the order's fate, so it may
//! change for an order a later check rejects), instead of carrying the miss to the end of the path:
//! pass 49,817,289, sample 33,818,366 (the stack frame 0x98 -> 0x58 bytes, its spills gone); the
//! exposure term without a branch on `held_len` 0 or 1 (`held_len == (position != 0)`): pass
//! 49,691,997, sample 33,761,488; a plain order's `Accepted` counting the account's open orders and
//! `live` with wrapping adds (the check just proved `live < max_live`, and an account's count is at
//! most `live`): pass 48,597,881, sample 33,201,130, off 21,794,961 (the engine's command loop lays
//! out differently, -3.0 per command with risk off too); the throttle shortcut stepping
//! `fast_after` by a derived `refill_ns - 1`: pass 48,462,885; the credit sum exact (open
//! notional plus order notional plus position value, checked, the precise path on overflow)
//! instead of two saturating adds: pass 47,972,819, sample 32,928,747; band edges of a width
//! within i64 as i64
//! saturating sums: pass 47,930,889, sample 32,905,332; `check_new_ok` taking the market handle by
//! value: pass 47,865,873, sample 32,879,839, off 21,794,961: about 260.7 instructions per command
//! over risk off (was 287.5), 110.8 with the sample config (was 123.7). `check_new` now about 189
//! per new order inclusive (was 214; 123 per command), a band refresh about 52 on the 5,990 misses;
//! the risk layer's lines inlined into the engine and the book still about 68 per command. Tried
//! and dropped (against the kept state they were tried on): the position value's i64 test as a sign
//! compare of the two halves (`(p >> 63) == pos >> 64`): pass +1,052,012, sample +505,858 (the
//! check's layout, not the test itself); the market by value through the plain-limit path and its
//! cold exit too (+130,004, sample +62,396); the velocity window's end kept derived, so a trade
//! tests one compare instead of "live" and a saturating add (pass +643, sample +33,335).
//!
//! Session 8, third pass (same commands, measured again at its start: off 21,085,479, pass
//! 47,431,607, sample 32,822,891; 263.5 per command passing, 117.4 with the sample config): a
//! plain order's trade tests "held changed" as `(before == 0 || after == 0) && before != after`
//! instead of `(before == 0) != (after == 0)`: pass 47,412,862, sample 32,813,298, off 21,085,479
//! (263.3 and 117.3 per command). Where the upkeep outside `check_new` goes (callgrind, per
//! instruction, pass): every trade of the stream (18,710) comes from the book's general path, whose
//! inlined risk lines cost 2,375,159 Ir (with the `Accepted` of its 9,862 orders), plus
//! `on_trade_price` out of line at 37 per trade (692,260 inclusive); in the engine's loop, a plain
//! order's `Accepted` is about 60 instructions (the pending-order test 12, the open notional's i128
//! product and checked add 9, the current-order record 6), and the risk path's dispatch on the
//! command kind 10 per command (the niche-encoded discriminant decoded in full). Tried and dropped:
//! the risk path's dispatch as `if let` on new order, then cancel, then the rest (pass +34,697,
//! sample -134,705, off +1); a trade's position as one signed `add128` for both sides instead of
//! `add128`/`sub128` per side (pass +572,107, sample +255,787).
//!
//! Session 9 (same commands, measured again at its start: off 21,085,479, pass 47,413,018, sample
//! 32,837,550; 263.3 per command passing, 117.5 with the sample config). The new-order path became
//! a contract between the engine and the risk layer: `check_new_entering`, then the book call's
//! events through `on_entered_event` (the one `Accepted` of such a call is the checked order's, a
//! `Rejected` too, and every taker is that order or a stop it triggered). In steps: that `Accepted`
//! matched to the pending order without comparing key, account and instrument: pass 47,016,022,
//! sample 32,649,872; the plain order being entered takes through the pending record, so its
//! `Accepted` writes no `Cur` record: pass 46,575,711, sample 32,430,439; a trade within the
//! velocity window's current range while the last one raised no move records only its time (a
//! derived `quiet_end`; the buckets' live flags moved into `Velocity`, since a 288-byte `Instr`
//! cost 75,466 more, its index two instructions instead of one `imul`): pass 46,351,273, sample
//! 32,315,729; the plain-limit path of `check_new_entering` does the order's `Accepted` upkeep
//! itself, through the records and the credit sum's open notional it holds (the `Accepted` then
//! only clears a flag, a book reject of the order undoes it, and an account holding other
//! instruments takes its credit check out of line so the records stay borrowed): pass 45,278,058,
//! sample 32,096,242; the trades of that book call take the pending order's instrument index: pass
//! 45,246,454, sample 32,081,791; a plain IOC or FOK order passed there is never counted (the book
//! ends it within the call: its fills as taker move only its position and its unfilled rest's
//! `Cancelled` is passed over): pass 45,148,945, sample 31,930,345; that `Accepted` leaving the
//! applied flag (no reject can follow it): pass 45,083,943, sample 31,899,147; a refused check
//! leaving it too (no book call follows one): sample 31,865,343. Off unchanged at 21,085,479
//! throughout: 240.0 instructions per command over risk off passing (was 263.3), 107.8 with the
//! sample config (was 117.5). `check_new` is now about 223 per new order inclusive, with the
//! `Accepted` upkeep of a plain order that rests (was 189 without it, plus about 60 in the engine's
//! loop); the IOC path (`Book::new_order_general`, 9,862 calls, all of the stream's 18,710 trades)
//! 7,626,856 against 3,969,755 with risk off (was 8,982,282); `on_trade_price` 25 per trade (was
//! 37). Tried and dropped (against the kept state they were tried on): the velocity's quiet test
//! inlined into the trade dispatch with the rest out of line (pass +242,249); the check's
//! `Accepted` upkeep with the order's fields kept live to its end (+1,277,430), or read back from
//! the pending record with fresh lookups (+415,841): the records the check holds are what pays; the
//! price range and the band as one range test ahead of the static checks, the band's edges clamped
//! to the range (pass +561,946, sample +806,614); `fill_tabled` answering found and MMP in a
//! register instead of a flag on the stack (pass +133,571); `on_trade` out of line
//! (pass +1,491,881, and off +320,571 from the layout); one derived `Slot::known` flag for a
//! cancel's account and instrument tests (pass +1,635, sample +9,640); the transient flag kept in a
//! register to the end of the check (pass 45,237,913 against 45,148,945 read back), or both flags
//! as one mode byte (pass +21,841, sample +212,286); `applied` false for a transient order so the
//! check's end reads one flag (pass +169,815, sample +262,351); the engine classifying a new order
//! for the book's fast path before its check, as the risk-free path does (off +944,818,
//! pass +1,577,110, sample +1,357,926: the command loop laid out anew).
//!
//! Session 10: a stop order with an IOC or FOK time in force passed the open-order caps
//! unchecked (the precise sequence held only limit orders other than IOC/FOK to them), though
//! it rests pending until it triggers and counts as open from its `Accepted`; every stop is held
//! to them now. risk_cost unchanged (off 20,875,603, pass 44,698,219, sample 31,592,228; the
//! stream has no such order). Found by the engine's property test over three instruments
//! (`crates/engine/tests/risk_props.rs`), which checks every new order's, modify's and cancel's
//! answer (reason, limit and value) against an independent model, and positions, open orders,
//! open quantity and exposure against the event stream after every command.
//! The same test found that refused messages skipped the throttle: a new order or modify
//! naming an instrument with no book, and a modify of an order the book does not hold, were
//! rejected without taking a token (cancels always took one), so an account could send them
//! unthrottled. They take one now (`Risk::check_message`, called by the engine before its
//! reject; `check_new` and `check_modify` count their own unknown-instrument rejects).
//!
//! Instructions are not the whole cost: the order table is sized for 1 M live orders (an
//! 8 MB index), and a plain hash put every probe on its own cache line. Its home position now
//! keeps the id's low 3 bits (consecutive ids share half a line of the index): +8.6 Ir per
//! command (risk_cost on 42,311,681 -> 43,168,754, from probing through neighbours on
//! deletion), but last-level cache misses 29,885 -> 9,491 and L1d misses 323,144 -> 306,285
//! (callgrind `--cache-sim=yes`), and in `cargo bench -p ferrex --bench risk` (alternating
//! builds, same minutes) risk on went from 10.3-10.6 ms to 7.0-7.7 ms per 100,000 commands
//! against 4.5-4.7 ms off: about +25 ns per command instead of about +55. Per operation on
//! that stream (callgrind, inclusive): `check_new` about 182 instructions on average (was 187,
//! and 210), `Accepted` upkeep about 127 (unchanged: the solo record is written instead of a
//! table insert), a trade about 399 (was 444; both sides, velocity); a cancel's upkeep is
//! inlined into the engine's event dispatch.
//!
//! Tried and not kept (risk_cost, Ir per 100,000 commands with risk on, against the kept state
//! it was tried on): IOC/FOK/market orders as a "solo" order-table record outside the index
//! (+763,505: the branch on every insert and lookup costs more than the probes it saves);
//! `on_accepted` inlined into the engine (+359,000) and `on_fill` or the order removal out of
//! line (+843,000, +961,000); `check_cancel` out of line (+715,000); the throttle's reject or
//! halt arm out of line (+825,000, +740,000: the throttle is inlined into the engine's cancel
//! path too); the engine's tap owning its stamper (+247,000); the band cache miss, the band
//! reference without a last trade, the volatility halt or the wide-value rejects out of line
//! (+196,000, +48,000, +48,000, +3,000); trade fields read per side (+57,000). Since: the
//! order table's home groups widened from 8 to 16 ids (a full cache line of the index:
//! +268,700 Ir, last-level misses 7,366 -> 5,306, but instruction-cache misses 321 -> 5,652
//! from the new layout); `gated` set for unconfigured ids too so a new order's check reads one
//! flag per table (+141,300: the cold exit then kept the arguments in callee-saved registers).
#![forbid(unsafe_code)]

mod config;
mod mmp;
mod orders;
mod risk;
mod throttle;
mod types;
mod velocity;

pub use config::{
    AccountConfig, BandConfig, ConfigError, InstrumentConfig, MmpConfig, RiskConfig,
    ThrottleConfig, VelocityConfig,
};
pub use risk::Risk;
pub use risk::snapshot::{RiskImage, RiskSnapshotError};
pub use types::{BookParams, Market, MarketView, OrderSnapshot, RiskAction, RiskReject};
