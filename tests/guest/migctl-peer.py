#!/usr/bin/env python3
"""Fake migctl TCP peers that vanish at chosen points of the stream.

Helper of tests/guest/34-migctl-peer-gone.test. It speaks migctl's frames
(tools/lib/migframe.h: 24-byte little-endian header, then the payload).
One run serves several connections in turn (python starts slowly in the
emulated guest) and prints one line per connection.

    migctl-peer.py send FILE HOST:PORT CUT[/rst]...
        For each CUT: connect to a `migctl receive` (retrying until it
        listens) and replay FILE (written by `migctl save`) like `migctl
        send`: HELLO, wait for READY, the frames that follow, up to CUT; then
        close the connection (FIN), or with /rst reset it once the
        receiver's kernel acknowledged every byte sent (so the cut is exact).
        With MIGCTL_PEER_GO=DIR in the environment, the N-th connection
        waits for the file DIR/go.N first: the test creates it once the
        receiver for that cut runs, so a connection never lands in the
        backlog of the previous receiver, which is still exiting.
        CUT is at the K-th frame of TYPE (K defaults to 1):
          before:TYPE[#K]         exactly between frames, before that one
          header:TYPE[#K]:BYTES   BYTES (1-23) into its header
          payload:TYPE[#K]        half-way into its payload (a frame with one)
    migctl-peer.py receive HOST:PORT MODE...
        For each MODE: listen, print "listening", accept one `migctl send`,
        read HELLO and vanish:
          close-before-ready  close before answering READY
          fin-mid-stream      READY, one DATA frame, half-close, drain
          partial-frame       READY, one DATA frame, 10 bytes of a frame
                              header, half-close, drain
          rst-mid-stream      READY, one DATA frame, reset
          close-before-ack    READY, everything up to END, close
          error-then-rst      READY, one DATA frame, an ERROR frame, reset

After each connection it prints a POSIX extended regular expression of what
migctl must say in the parentheses of its "closed the connection
mid-stream (...)" error (the exact text where the cut is deterministic), or
for error-then-rst of the whole error. Exit status 0, 1 on a surprise.
"""
import fcntl
import os
import socket
import struct
import sys
import termios
import time

MAGIC = 0x4D434631
HDR = struct.Struct("<IHHIIQ")  # magic, version, type, flags, len, csum
TYPES = {"HELLO": 1, "READY": 2, "DATA_PRE": 3, "DATA_STOP": 4,
         "SWITCHOVER": 5, "END": 6, "ACK": 7, "ERROR": 8}
NAMES = {v: k for k, v in TYPES.items()}
DATA = (TYPES["DATA_PRE"], TYPES["DATA_STOP"])
ERROR_TEXT = b"fake receiver: load failed"


def die(msg):
    print("migctl-peer: " + msg, file=sys.stderr)
    sys.exit(1)


def ere(text):
    """text as a POSIX ERE matching exactly it."""
    return "".join("\\" + c if c in ".[]()*+?{}|^$\\" else c for c in text)


def hdr(ftype, length):
    return HDR.pack(MAGIC, 1, ftype, 0, length, 0)


def addr(hostport):
    host, port = hostport.rsplit(":", 1)
    return host, int(port)


def frames_of(data):
    """(offset, type, payload length) of every frame of a stream file."""
    out, off = [], 0
    while off < len(data):
        magic, _, ftype, _, length, _ = HDR.unpack_from(data, off)
        if magic != MAGIC:
            die("bad frame magic at offset %d" % off)
        out.append((off, ftype, length))
        off += HDR.size + length
    return out


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            return None
        b += chunk
    return b


def recv_frame(s):
    h = recv_exact(s, HDR.size)
    if h is None:
        return None, None
    magic, _, ftype, _, length, _ = HDR.unpack(h)
    if magic != MAGIC:
        die("bad frame magic from migctl")
    payload = recv_exact(s, length) if length else b""
    if payload is None:
        die("migctl cut a %s frame" % NAMES.get(ftype, "?"))
    return ftype, payload


def reset(s):
    """Reset the connection once everything sent was acknowledged."""
    for _ in range(60000):
        outq = struct.unpack("i", fcntl.ioctl(s.fileno(), termios.TIOCOUTQ,
                                              struct.pack("i", 0)))[0]
        if not outq:
            break
        time.sleep(0.001)
    else:
        die("%d bytes never acknowledged" % outq)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def cut_point(frames, spec):
    """(cut offset, expected where) for a CUT spec."""
    kind, _, rest = spec.partition(":")
    nbytes = 0
    if kind == "header":
        rest, _, n = rest.rpartition(":")
        nbytes = int(n)
        if not 0 < nbytes < HDR.size:
            die("header cut must be 1-23 bytes")
    tname, _, k = rest.partition("#")
    if tname not in TYPES or kind not in ("before", "header", "payload"):
        die("bad cut %s" % spec)
    match = [f for f in frames if f[1] == TYPES[tname] and
             (kind != "payload" or f[2] >= 2)]
    if len(match) < int(k or 1):
        die("the file has no frame for %s" % spec)
    off, _, length = match[int(k or 1) - 1]
    if kind == "before":
        return off, "between frames"
    if kind == "header":
        return off + nbytes, ("inside a frame header, after %d of its 24 bytes"
                              % nbytes)
    return (off + HDR.size + length // 2,
            "inside %s %s frame, after %d of its %d payload bytes"
            % ("an" if tname[0] in "AEIOU" else "a", tname, length // 2,
               length))


def connect(hostport):
    """Connect, waiting up to 60 s for the receiver to listen."""
    for _ in range(600):
        try:
            s = socket.create_connection(addr(hostport))
        except ConnectionRefusedError:
            time.sleep(0.1)
            continue
        s.settimeout(60)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s
    die("nobody listens on %s" % hostport)


def send(data, hostport, spec):
    spec, _, rst = spec.partition("/")
    if rst not in ("", "rst"):
        die("bad cut %s" % spec)
    frames = frames_of(data)
    if not frames or frames[0][1] != TYPES["HELLO"]:
        die("the file does not start with HELLO")
    cut, where = cut_point(frames, spec)
    loaded = sum(f[2] for f in frames
                 if f[1] in DATA and f[0] + HDR.size + f[2] <= cut)
    hello_end = HDR.size + frames[0][2]
    s = connect(hostport)
    if cut <= hello_end:
        s.sendall(data[:cut])
    else:
        s.sendall(data[:hello_end])
        ftype, payload = recv_frame(s)
        if ftype != TYPES["READY"]:
            die("receiver answered %s %r" % (NAMES.get(ftype), payload))
        s.sendall(data[hello_end:cut])
    if rst:
        reset(s)
    else:
        s.close()
    how = "connection reset" if rst else "EOF"
    return ere("%s %s; %d bytes of device data received" % (how, where, loaded))


def drain(s):
    while s.recv(1 << 20):
        pass
    s.close()


def receive(hostport, mode):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(addr(hostport))
    srv.listen(1)
    srv.settimeout(60)
    print("listening", flush=True)
    s, _ = srv.accept()
    srv.close()
    s.settimeout(60)
    ftype, _ = recv_frame(s)
    if ftype != TYPES["HELLO"]:
        die("sender began with %s" % NAMES.get(ftype))
    if mode == "close-before-ready":
        s.close()
        return ere("EOF between frames, waiting for READY; "
                   "0 bytes of device data sent")
    s.sendall(hdr(TYPES["READY"], 0))
    sent = 0
    while True:
        ftype, payload = recv_frame(s)
        if ftype is None:
            die("sender closed the connection")
        if ftype in DATA:
            sent += len(payload)
        if mode == "close-before-ack":
            if ftype == TYPES["END"]:
                break
        elif ftype in DATA and payload:
            break
    some = "[0-9]+ bytes of device data sent"
    if mode == "close-before-ack":
        s.close()
        return ere("EOF between frames, waiting for the ACK; "
                   "%d bytes of device data sent" % sent)
    if mode == "fin-mid-stream":
        s.shutdown(socket.SHUT_WR)
        drain(s)
        return ere("EOF between frames; ") + some
    if mode == "partial-frame":
        s.sendall(hdr(TYPES["ERROR"], len(ERROR_TEXT))[:10])
        s.shutdown(socket.SHUT_WR)
        drain(s)
        return ere("EOF inside a frame header, after 10 of its 24 bytes; ") + some
    if mode == "rst-mid-stream":
        reset(s)
        return "connection reset [^;]*; " + some
    s.sendall(hdr(TYPES["ERROR"], len(ERROR_TEXT)) + ERROR_TEXT)
    reset(s)
    return ere("target failed: " + ERROR_TEXT.decode())


MODES = ("close-before-ready", "fin-mid-stream", "partial-frame",
         "rst-mid-stream", "close-before-ack", "error-then-rst")


def wait_go(n):
    """Wait for $MIGCTL_PEER_GO/go.N (if set), up to 120 s."""
    d = os.environ.get("MIGCTL_PEER_GO")
    if not d:
        return
    for _ in range(1200):
        if os.path.exists(os.path.join(d, "go.%d" % n)):
            return
        time.sleep(0.1)
    die("no go.%d in %s" % (n, d))


def main(argv):
    if len(argv) >= 5 and argv[1] == "send":
        data = open(argv[2], "rb").read()
        for n, spec in enumerate(argv[4:], 1):
            wait_go(n)
            print(send(data, argv[3], spec), flush=True)
    elif len(argv) >= 4 and argv[1] == "receive":
        for mode in argv[3:]:
            if mode not in MODES:
                die("unknown mode %s" % mode)
        for mode in argv[3:]:
            print(receive(argv[2], mode), flush=True)
    else:
        die("usage: see the top of %s" % argv[0])


if __name__ == "__main__":
    main(sys.argv)
