"""FIX 4.4 order entry against `ferrex serve`, driven by QuickFIX (the `quickfix-ssl` wheel) as
the initiator, with QuickFIX's own FIX 4.4 data dictionary validating everything ferrex sends.

Sessions as in config/serve.toml: CLIENT1 (account 3, Username/Password on Logon) and CLIENT2
(account 4, no credentials), both to FERREX. Instrument AAPL (price unit 0.01). The risk config
config/serve-risk.toml caps one order at 50,000 lots for these accounts (MaxOrderQty).

Each test uses its own price levels and leaves nothing resting, so the tests do not depend on
each other's book state; pytest runs them in file order (the logout test is last).
"""

import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from decimal import Decimal

import pytest
import quickfix as fix
import quickfix44 as fix44

FIX_ADDR = os.environ.get("FERREX_FIX_ADDR", "127.0.0.1:15001")
TIMEOUT = 15.0  # generous: a debug build on a busy 2-core machine
SOH = "\x01"
RUN = uuid.uuid4().hex[:6]  # ClOrdID prefix, unique per run of this file
_seq = [0]


def cl_ord_id(tag):
    _seq[0] += 1
    return f"{RUN}-{tag}-{_seq[0]}"


def dictionary_path():
    p = os.path.join(sys.prefix, "share", "quickfix", "FIX44.xml")
    assert os.path.isfile(p), f"quickfix-ssl's FIX44.xml not found at {p}"
    return p


def parse(raw):
    """A FIX message string as a list of (tag, value) and a dict of first occurrences."""
    pairs = []
    for f in raw.split(SOH):
        if f:
            t, _, v = f.partition("=")
            pairs.append((int(t), v))
    first = {}
    for t, v in pairs:
        first.setdefault(t, v)
    return first


def show(m):
    return "|".join(f"{t}={v}" for t, v in m.items())


class Recorder(fix.Application):
    """QuickFIX application: records what arrives, adds credentials to our Logon."""

    def __init__(self, username=None, password=None):
        super().__init__()
        self.username = username
        self.password = password
        self.cond = threading.Condition()
        self.app = []  # application messages received: [parsed dict, consumed flag]
        self.admin = []  # admin messages received (parsed)
        self.logged_on = False
        self.logged_out = False
        self.session_id = None

    # --- quickfix.Application
    def onCreate(self, session_id):
        self.session_id = session_id

    def onLogon(self, session_id):
        with self.cond:
            self.logged_on = True
            self.cond.notify_all()

    def onLogout(self, session_id):
        with self.cond:
            self.logged_out = True
            self.cond.notify_all()

    def toAdmin(self, message, session_id):
        t = fix.MsgType()
        message.getHeader().getField(t)
        if t.getValue() == fix.MsgType_Logon and self.username is not None:
            message.setField(fix.Username(self.username))
            message.setField(fix.Password(self.password))

    def fromAdmin(self, message, session_id):
        with self.cond:
            self.admin.append(parse(message.toString()))
            self.cond.notify_all()

    def toApp(self, message, session_id):
        pass

    def fromApp(self, message, session_id):
        with self.cond:
            self.app.append([parse(message.toString()), False])
            self.cond.notify_all()

    # --- waiting
    def wait(self, pred, what, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                r = pred()
                if r:
                    return r
                left = deadline - time.monotonic()
                if left <= 0:
                    got = "\n  ".join(show(m) for m, _ in self.app[-10:])
                    adm = "\n  ".join(show(m) for m in self.admin[-5:])
                    pytest.fail(
                        f"timed out after {timeout}s waiting for {what}\n"
                        f" last application messages:\n  {got}\n last admin messages:\n  {adm}"
                    )
                self.cond.wait(left)

    def take(self, what, **want):
        """The first not yet consumed application message whose fields equal `want`
        (keys `t<tag>`), waiting for it."""
        want = {int(k[1:]): str(v) for k, v in want.items()}

        def find():
            for entry in self.app:
                m, used = entry
                if not used and all(m.get(t) == v for t, v in want.items()):
                    entry[1] = True
                    return m
            return None

        return self.wait(find, f"{what} ({want})")

    def unconsumed(self):
        with self.cond:
            return [m for m, used in self.app if not used]


class Client:
    """One QuickFIX SocketInitiator with one FIX 4.4 session to FERREX."""

    def __init__(self, comp_id, username=None, password=None):
        host, port = FIX_ADDR.rsplit(":", 1)
        self.dir = tempfile.mkdtemp(prefix=f"qf-{comp_id}-")
        cfg = os.path.join(self.dir, "initiator.cfg")
        with open(cfg, "w") as f:
            f.write(
                f"""[DEFAULT]
ConnectionType=initiator
ReconnectInterval=2
FileLogPath={self.dir}/log
StartTime=00:00:00
EndTime=00:00:00
HeartBtInt=30
SocketConnectHost={host}
SocketConnectPort={port}
UseDataDictionary=Y
DataDictionary={dictionary_path()}
ResetOnLogon=Y
ResetOnLogout=Y
ResetOnDisconnect=Y
LogonTimeout=10
LogoutTimeout=10

[SESSION]
BeginString=FIX.4.4
SenderCompID={comp_id}
TargetCompID=FERREX
"""
            )
        self.app = Recorder(username, password)
        self.settings = fix.SessionSettings(cfg)
        self.initiator = fix.SocketInitiator(
            self.app,
            fix.MemoryStoreFactory(),
            self.settings,
            fix.FileLogFactory(self.settings),
        )
        self.stopped = False

    def start(self):
        self.initiator.start()

    def logon(self):
        self.start()
        self.app.wait(lambda: self.app.logged_on, "Logon")

    def stop(self):
        if not self.stopped:
            self.stopped = True
            self.initiator.stop()

    def event_log(self):
        out = []
        for root, _, files in os.walk(os.path.join(self.dir, "log")):
            for n in sorted(files):
                with open(os.path.join(root, n), errors="replace") as f:
                    out.append(f"--- {n}\n{f.read()}")
        return "\n".join(out)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- application messages
    def send(self, msg):
        assert fix.Session.sendToTarget(msg, self.app.session_id), "sendToTarget failed"

    def new_order(self, cl, side, qty, price, symbol="AAPL"):
        m = fix44.NewOrderSingle()
        m.setField(fix.ClOrdID(cl))
        m.setField(fix.Side(side))
        m.setField(fix.TransactTime())
        m.setField(fix.OrdType(fix.OrdType_LIMIT))
        m.setField(fix.Symbol(symbol))
        m.setField(fix.OrderQty(qty))
        m.setField(fix.StringField(44, price))  # the exact decimal text
        m.setField(fix.TimeInForce(fix.TimeInForce_DAY))
        self.send(m)

    def cancel(self, cl, orig, side, symbol="AAPL", qty=None):
        m = fix44.OrderCancelRequest()
        m.setField(fix.OrigClOrdID(orig))
        m.setField(fix.ClOrdID(cl))
        m.setField(fix.Side(side))
        m.setField(fix.Symbol(symbol))
        m.setField(fix.TransactTime())
        if qty is not None:
            m.setField(fix.OrderQty(qty))
        self.send(m)

    def replace(self, cl, orig, side, qty, price, symbol="AAPL"):
        m = fix44.OrderCancelReplaceRequest()
        m.setField(fix.OrigClOrdID(orig))
        m.setField(fix.ClOrdID(cl))
        m.setField(fix.Side(side))
        m.setField(fix.Symbol(symbol))
        m.setField(fix.TransactTime())
        m.setField(fix.OrdType(fix.OrdType_LIMIT))
        m.setField(fix.OrderQty(qty))
        m.setField(fix.StringField(44, price))
        self.send(m)


def dec(v):
    return Decimal(v)


def check_header(m, me):
    assert m[8] == "FIX.4.4"
    assert m[49] == "FERREX", f"SenderCompID: {show(m)}"
    assert m[56] == me, f"TargetCompID: {show(m)}"
    assert int(m[34]) > 0
    assert m.get(52), "SendingTime missing"


def check_common(m, me):
    """Fields every ExecutionReport carries (FIX 4.4 required: 37, 17, 150, 39, 54, 151, 14, 6)."""
    check_header(m, me)
    assert m[35] == "8"
    for t in (37, 17, 150, 39, 54, 151, 14, 6, 11, 55):
        assert m.get(t), f"tag {t} missing or empty in {show(m)}"


BUY = fix.Side_BUY
SELL = fix.Side_SELL


@pytest.fixture(scope="module")
def clients():
    c1 = Client("CLIENT1", "fixuser1", "fixpass1")
    c2 = Client("CLIENT2")
    try:
        c1.logon()
        c2.logon()
        yield c1, c2
    finally:
        c1.close()
        c2.close()


def test_bad_password_is_refused():
    """CLIENT1 with a wrong Password (554): no logon; the venue answers Logout or hangs up."""
    c = Client("CLIENT1", "fixuser1", "wrong")
    try:
        c.start()
        app = c.app

        def refused():
            if any(m.get(35) == "5" for m in app.admin):
                return "logout"
            log = c.event_log()
            if "Disconnecting" in log or "disconnected" in log.lower():
                return "disconnect"
            return None

        how = app.wait(refused, "Logout or disconnect after a bad password")
        assert not app.logged_on, f"logged on with a wrong password ({how})"
        if how == "logout":
            lo = next(m for m in app.admin if m.get(35) == "5")
            check_header(lo, "CLIENT1")
    finally:
        c.close()


def test_logon(clients):
    c1, c2 = clients
    for c, me in ((c1, "CLIENT1"), (c2, "CLIENT2")):
        logon = next(m for m in c.app.admin if m.get(35) == "A")
        check_header(logon, me)
        assert logon[98] == "0", show(logon)
        assert logon[108] == "30", show(logon)
        assert int(logon[34]) == 1, f"ResetOnLogon: the venue's Logon must be seq 1: {show(logon)}"


def test_new_order_rests_then_cancel(clients):
    c1, _ = clients
    cl = cl_ord_id("rest")
    c1.new_order(cl, BUY, 100, "95.25")
    m = c1.app.take("ExecutionReport New", t11=cl, t150="0")
    check_common(m, "CLIENT1")
    assert m[39] == "0"
    assert m[11] == cl
    assert m[37].strip() != ""
    assert m[55] == "AAPL"
    assert m[54] == "1"
    assert dec(m[38]) == 100
    assert dec(m[44]) == dec("95.25")
    assert dec(m[14]) == 0
    assert dec(m[151]) == 100
    assert dec(m[6]) == 0
    order_id = m[37]

    cx = cl_ord_id("cxl")
    c1.cancel(cx, cl, BUY, qty=100)
    m = c1.app.take("ExecutionReport Canceled", t11=cx, t150="4")
    check_common(m, "CLIENT1")
    assert m[39] == "4"
    assert m[41] == cl
    assert m[37] == order_id, "OrderID must stay the same across a cancel"
    assert dec(m[151]) == 0
    assert dec(m[14]) == 0
    assert m[54] == "1" and m[55] == "AAPL"


def test_replace_then_cancel(clients):
    c1, _ = clients
    cl = cl_ord_id("repl")
    c1.new_order(cl, SELL, 50, "110.00")
    new = c1.app.take("ExecutionReport New", t11=cl, t150="0")
    check_common(new, "CLIENT1")

    cl2 = cl_ord_id("repl2")
    c1.replace(cl2, cl, SELL, 80, "110.50")
    m = c1.app.take("ExecutionReport Replaced", t11=cl2, t150="5")
    check_common(m, "CLIENT1")
    assert m[39] == "0", f"a replaced unfilled order is New (39=0): {show(m)}"
    assert m[41] == cl
    assert m[37] == new[37]
    assert m[54] == "2" and m[55] == "AAPL"
    assert dec(m[38]) == 80
    assert dec(m[44]) == dec("110.50")
    assert dec(m[151]) == 80
    assert dec(m[14]) == 0

    cx = cl_ord_id("cxl")
    c1.cancel(cx, cl2, SELL, qty=80)
    m = c1.app.take("ExecutionReport Canceled", t11=cx, t150="4")
    check_common(m, "CLIENT1")
    assert m[39] == "4" and m[41] == cl2 and dec(m[151]) == 0


def test_cross_between_sessions(clients):
    c1, c2 = clients
    # CLIENT1 (account 3) rests a sell; CLIENT2 (account 4) buys part of it, then the rest.
    sell = cl_ord_id("mk")
    c1.new_order(sell, SELL, 100, "101.00")
    m = c1.app.take("maker New", t11=sell, t150="0")
    maker_id = m[37]

    buy1 = cl_ord_id("tk1")
    c2.new_order(buy1, BUY, 40, "101.00")
    t = c2.app.take("taker trade", t11=buy1, t150="F")
    check_common(t, "CLIENT2")
    assert t[39] == "2", f"taker fully filled: {show(t)}"
    assert dec(t[31]) == dec("101.00") and dec(t[32]) == 40
    assert dec(t[14]) == 40 and dec(t[151]) == 0
    assert dec(t[6]) == dec("101.00")
    assert t[54] == "1" and t[55] == "AAPL"

    mk = c1.app.take("maker trade", t11=sell, t150="F")
    check_common(mk, "CLIENT1")
    assert mk[37] == maker_id
    assert mk[39] == "1", f"maker partially filled: {show(mk)}"
    assert dec(mk[31]) == dec("101.00") and dec(mk[32]) == 40
    assert dec(mk[14]) == 40 and dec(mk[151]) == 60
    assert dec(mk[6]) == dec("101.00")
    assert mk[54] == "2"

    # A more aggressive buy fills the rest at the resting order's price.
    buy2 = cl_ord_id("tk2")
    c2.new_order(buy2, BUY, 60, "101.50")
    t = c2.app.take("taker trade", t11=buy2, t150="F")
    assert t[39] == "2" and dec(t[31]) == dec("101.00") and dec(t[32]) == 60, show(t)
    assert dec(t[14]) == 60 and dec(t[151]) == 0
    mk = c1.app.take("maker trade", t11=sell, t150="F")
    assert mk[39] == "2", f"maker now filled: {show(mk)}"
    assert dec(mk[32]) == 60 and dec(mk[14]) == 100 and dec(mk[151]) == 0
    assert dec(mk[6]) == dec("101.00")

    # The filled order is gone: cancelling it is refused.
    cx = cl_ord_id("cxl")
    c1.cancel(cx, sell, SELL, qty=100)
    r = c1.app.take("OrderCancelReject", t11=cx)
    assert r[35] == "9" and r[434] == "1", show(r)


def test_cancel_unknown_order(clients):
    c1, _ = clients
    cx = cl_ord_id("cxl")
    c1.cancel(cx, f"{RUN}-no-such-order", BUY, qty=10)
    r = c1.app.take("OrderCancelReject", t11=cx)
    check_header(r, "CLIENT1")
    assert r[35] == "9"
    assert r[41] == f"{RUN}-no-such-order"
    assert r[434] == "1", "CxlRejResponseTo: order cancel request"
    assert r[102] == "1", f"CxlRejReason unknown order: {show(r)}"
    assert r.get(37), "OrderID (NONE) is required"
    assert r.get(39), "OrdStatus is required"


def test_replace_unknown_order(clients):
    c1, _ = clients
    cl = cl_ord_id("repl")
    c1.replace(cl, f"{RUN}-no-such-order", BUY, 10, "99.00")
    r = c1.app.take("OrderCancelReject", t11=cl)
    assert r[35] == "9" and r[434] == "2" and r[102] == "1", show(r)


def test_other_session_cannot_cancel(clients):
    c1, c2 = clients
    cl = cl_ord_id("own")
    c1.new_order(cl, BUY, 10, "90.00")
    c1.app.take("New", t11=cl, t150="0")
    cx = cl_ord_id("steal")
    c2.cancel(cx, cl, BUY, qty=10)
    r = c2.app.take("OrderCancelReject", t11=cx)
    assert r[35] == "9" and r[434] == "1", show(r)
    # still live for its owner
    cx = cl_ord_id("cxl")
    c1.cancel(cx, cl, BUY, qty=10)
    m = c1.app.take("Canceled", t11=cx, t150="4")
    assert m[39] == "4"


def test_risk_reject(clients):
    c1, _ = clients
    cl = cl_ord_id("big")
    c1.new_order(cl, BUY, 60000, "95.00")  # serve-risk.toml: max_order_qty = 50000
    m = c1.app.take("ExecutionReport Rejected", t11=cl, t150="8")
    check_common(m, "CLIENT1")
    assert m[39] == "8"
    assert m[54] == "1" and m[55] == "AAPL"
    assert dec(m[151]) == 0 and dec(m[14]) == 0
    assert m.get(58), f"Text 58 must say why: {show(m)}"
    assert "max_order_qty" in m[58].lower().replace(" ", "_"), show(m)
    assert m.get(103) == "3", f"OrdRejReason 3 (exceeds limit): {show(m)}"


def risk_rejected_replace_then_cancel(c1):
    """Rest a sell, replace it above max_order_qty (refused), cancel it by its original
    ClOrdID. Returns (original ClOrdID, the New report, the OrderCancelReject, the Canceled
    report)."""
    cl = cl_ord_id("rr")
    c1.new_order(cl, SELL, 20, "180.00")
    new = c1.app.take("New", t11=cl, t150="0")
    cl2 = cl_ord_id("rr2")
    c1.replace(cl2, cl, SELL, 60000, "180.00")
    rej = c1.app.take("OrderCancelReject", t11=cl2)
    cx = cl_ord_id("cxl")
    c1.cancel(cx, cl, SELL, qty=20)
    canceled = c1.app.take("Canceled", t11=cx, t150="4")
    return cl, new, rej, canceled


def test_replace_rejected_by_risk_keeps_order(clients):
    """A replace the risk layer refuses (quantity above max_order_qty) gets an
    OrderCancelReject; the order stays live and can be canceled by its original ClOrdID."""
    c1, _ = clients
    cl, new, r, m = risk_rejected_replace_then_cancel(c1)
    check_header(r, "CLIENT1")
    assert r[35] == "9" and r[41] == cl and r[434] == "2", show(r)
    assert r[37] == new[37], f"OrderID of the live order: {show(r)}"
    assert r[39] == "0", f"the order is still New: {show(r)}"
    assert r[102] == "99", show(r)
    assert "max_order_qty" in r.get(58, "").lower().replace(" ", "_"), show(r)
    check_common(m, "CLIENT1")
    assert m[39] == "4" and m[37] == new[37] and dec(m[151]) == 0, show(m)


def test_replace_rejected_by_risk_keeps_clordid(clients):
    """After a refused replace, the order keeps its last accepted ClOrdID (41 of the cancel)."""
    c1, _ = clients
    cl, _, _, m = risk_rejected_replace_then_cancel(c1)
    assert m[41] == cl, f"OrigClOrdID must be the last accepted ClOrdID {cl}: {show(m)}"


def test_no_session_rejects(clients):
    """QuickFIX's dictionary accepted every message ferrex sent: no Reject (3) went back."""
    c1, c2 = clients
    for c in (c1, c2):
        log = c.event_log()
        assert "35=3\x01" not in log, f"QuickFIX rejected a ferrex message:\n{log[-3000:]}"
        assert not any(m.get(35) == "3" for m in c.app.admin), c.app.admin


def test_logout(clients):
    c1, c2 = clients
    for c in (c1, c2):
        c.stop()  # sends Logout, waits for the venue's Logout
        assert c.app.logged_out
        lo = [m for m in c.app.admin if m.get(35) == "5"]
        assert lo, f"no Logout from the venue:\n{c.event_log()[-2000:]}"
