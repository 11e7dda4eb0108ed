"""A minimal SoupBinTCP 4.0 / OUCH 5.0 client WRITTEN FOR THESE TESTS (not third-party).

The third-party `ouch-connect` 5.0.1 package cannot enter orders on ferrex's OUCH 5.0 port
(its Symbol field is 9 bytes, OUCH 5.0's is 8; its Cancel Order lacks the AppendageLength; its
Order Canceled carries an extra OrigUserRefNum), so the flows that need Enter Order, Cancel
Order, Order Accepted, Order Replaced or Order Canceled use this client; see
test_ouch_connect.py for what runs through ouch-connect. (Session OUCH03 speaks
ouch-connect's own layouts, a compatibility mode that is not OUCH 5.0; this client speaks the
specification and is for OUCH01 / OUCH02.)

Layouts (NASDAQ OUCH 5.0; integers big-endian, prices 8 bytes with 4 implied decimals, text
left-justified and space-padded; every message ends with a 2-byte appendage length):
  in:  O Enter Order, U Replace Order, X Cancel Order
  out: S System Event, A Accepted, U Replaced, C Canceled, E Executed, J Rejected,
       I Cancel Reject, M Modified
SoupBinTCP packets: 2-byte length, 1-byte type, payload. Client: L login, U unsequenced data,
R heartbeat, O logout. Server: A login accepted, J login rejected, S sequenced data,
H heartbeat, Z end of session, + debug.
"""

import socket
import struct
import time

DEFAULT_TIMEOUT = 15.0


def price_units(decimal_text):
    """'100.25' -> 1002500 (OUCH 1/10000 units), exactly."""
    whole, _, frac = decimal_text.partition(".")
    frac = (frac + "0000")[:4]
    assert len(decimal_text.partition(".")[2]) <= 4
    return int(whole) * 10000 + int(frac)


def alpha(s, n):
    b = s.encode("ascii")
    assert len(b) <= n
    return b.ljust(n, b" ")


def enter_order(uref, side, qty, symbol, price, cl_ord_id, tif=b"0", display=b"Y"):
    return (
        b"O"
        + struct.pack(">IcI", uref, side, qty)
        + alpha(symbol, 8)
        + struct.pack(">Q", price)
        + tif
        + display
        + b"A"  # capacity: agency
        + b"N"  # intermarket sweep: not eligible
        + b"N"  # cross type: continuous market
        + alpha(cl_ord_id, 14)
        + struct.pack(">H", 0)
    )


def replace_order(orig_uref, uref, qty, price, cl_ord_id, tif=b"0", display=b"Y"):
    return (
        b"U"
        + struct.pack(">III", orig_uref, uref, qty)
        + struct.pack(">Q", price)
        + tif
        + display
        + b"N"
        + alpha(cl_ord_id, 14)
        + struct.pack(">H", 0)
    )


def cancel_order(uref, qty=0):
    return b"X" + struct.pack(">II", uref, qty) + struct.pack(">H", 0)


def _text(b):
    return b.decode("ascii").rstrip(" ")


def decode_outbound(m):
    """One OUCH 5.0 outbound message -> dict (raises on a wrong length)."""
    t = m[:1]

    def need(n):
        alen = struct.unpack(">H", m[n - 2 : n])[0]
        assert len(m) == n + alen, f"{t!r}: length {len(m)}, expected {n}+{alen}: {m.hex()}"

    if t == b"S":
        assert len(m) == 10, m.hex()
        return {"type": "SystemEvent", "timestamp": struct.unpack(">Q", m[1:9])[0], "event": m[9:10]}
    if t == b"A":
        need(64)
        ts, uref, side, qty = struct.unpack(">QIcI", m[1:18])
        return {
            "type": "Accepted",
            "timestamp": ts,
            "uref": uref,
            "side": side,
            "qty": qty,
            "symbol": _text(m[18:26]),
            "price": struct.unpack(">Q", m[26:34])[0],
            "tif": m[34:35],
            "display": m[35:36],
            "order_ref": struct.unpack(">Q", m[36:44])[0],
            "capacity": m[44:45],
            "iso": m[45:46],
            "cross": m[46:47],
            "state": m[47:48],
            "cl_ord_id": _text(m[48:62]),
        }
    if t == b"U":
        need(68)
        ts, orig, uref, side, qty = struct.unpack(">QIIcI", m[1:22])
        return {
            "type": "Replaced",
            "timestamp": ts,
            "orig_uref": orig,
            "uref": uref,
            "side": side,
            "qty": qty,
            "symbol": _text(m[22:30]),
            "price": struct.unpack(">Q", m[30:38])[0],
            "tif": m[38:39],
            "display": m[39:40],
            "order_ref": struct.unpack(">Q", m[40:48])[0],
            "capacity": m[48:49],
            "iso": m[49:50],
            "cross": m[50:51],
            "state": m[51:52],
            "cl_ord_id": _text(m[52:66]),
        }
    if t == b"C":
        need(20)
        ts, uref, qty = struct.unpack(">QII", m[1:17])
        return {"type": "Canceled", "timestamp": ts, "uref": uref, "qty": qty, "reason": m[17:18]}
    if t == b"E":
        need(36)
        ts, uref, qty, px = struct.unpack(">QIIQ", m[1:25])
        return {
            "type": "Executed",
            "timestamp": ts,
            "uref": uref,
            "qty": qty,
            "price": px,
            "liquidity": m[25:26],
            "match": struct.unpack(">Q", m[26:34])[0],
        }
    if t == b"J":
        need(31)
        ts, uref, reason = struct.unpack(">QIH", m[1:15])
        return {
            "type": "Rejected",
            "timestamp": ts,
            "uref": uref,
            "reason": reason,
            "cl_ord_id": _text(m[15:29]),
        }
    if t == b"I":
        need(15)
        ts, uref = struct.unpack(">QI", m[1:13])
        return {"type": "CancelReject", "timestamp": ts, "uref": uref}
    if t == b"M":
        need(20)
        ts, uref, side, qty = struct.unpack(">QIcI", m[1:18])
        return {"type": "Modified", "timestamp": ts, "uref": uref, "side": side, "qty": qty}
    raise AssertionError(f"unknown OUCH message type {t!r}: {m.hex()}")


class SoupClient:
    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=DEFAULT_TIMEOUT)
        self.buf = b""
        self.last_sent = time.monotonic()
        self.messages = []  # decoded sequenced messages: [dict, consumed]
        self.next_seq = None
        self.closed = False

    # --- framing
    def _send_packet(self, ptype, payload=b""):
        self.sock.sendall(struct.pack(">H", len(payload) + 1) + ptype + payload)
        self.last_sent = time.monotonic()

    def _read_packet(self, deadline):
        while True:
            if len(self.buf) >= 2:
                n = struct.unpack(">H", self.buf[:2])[0]
                if len(self.buf) >= 2 + n:
                    p = self.buf[2 : 2 + n]
                    self.buf = self.buf[2 + n :]
                    return p[:1], p[1:]
            if time.monotonic() - self.last_sent > 0.8:
                self._send_packet(b"R")  # client heartbeat
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(min(left, 0.5))
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not d:
                self.closed = True
                return (b"", b"")
            self.buf += d

    # --- session
    def login(self, username, password, session="", seq=0, timeout=DEFAULT_TIMEOUT):
        """Returns ('A', session, next_seq) or ('J', reason) or ('closed',)."""
        self._send_packet(
            b"L", alpha(username, 6) + alpha(password, 10) + session.encode().rjust(10) + str(seq).encode().rjust(20)
        )
        deadline = time.monotonic() + timeout
        while True:
            p = self._read_packet(deadline)
            assert p is not None, "no answer to Login Request"
            t, body = p
            if t == b"A":
                assert len(body) == 30, body
                self.next_seq = int(body[10:30].strip())
                return ("A", body[:10].decode().strip(), self.next_seq)
            if t == b"J":
                return ("J", body.decode())
            if t == b"":
                return ("closed",)
            if t in (b"H", b"+"):
                continue
            raise AssertionError(f"unexpected packet {t!r} before login answer")

    def send(self, ouch_msg):
        self._send_packet(b"U", ouch_msg)

    def logout(self):
        try:
            self._send_packet(b"O")
        except OSError:
            pass

    def close(self, timeout=5.0):
        """Logout Request, then wait for the server to close the connection (so the session is
        free for the next login), then close the socket."""
        self.logout()
        deadline = time.monotonic() + timeout
        try:
            while not self.closed and time.monotonic() < deadline:
                if not self.pump(deadline) and not self.closed:
                    break
        except (OSError, AssertionError):
            pass
        self.sock.close()

    def pump(self, deadline):
        """Read one packet; record sequenced data. False on timeout / close."""
        p = self._read_packet(deadline)
        if p is None:
            return False
        t, body = p
        if t == b"S":
            m = decode_outbound(body)
            m["seq"] = self.next_seq
            self.messages.append([m, False])
            if self.next_seq is not None:
                self.next_seq += 1
        elif t == b"":
            return False
        elif t == b"Z":
            self.closed = True
            return False
        return True

    def take(self, what, timeout=DEFAULT_TIMEOUT, **want):
        """The first unconsumed sequenced message with these fields, waiting for it."""
        deadline = time.monotonic() + timeout

        def find():
            for e in self.messages:
                m, used = e
                if not used and all(m.get(k) == v for k, v in want.items()):
                    e[1] = True
                    return m
            return None

        while True:
            m = find()
            if m is not None:
                return m
            if not self.pump(deadline) and (time.monotonic() >= deadline or self.closed):
                recent = "\n  ".join(str(x) for x, _ in self.messages[-10:])
                raise AssertionError(
                    f"no {what} {want} within {timeout}s (closed={self.closed}); last messages:\n  {recent}"
                )
