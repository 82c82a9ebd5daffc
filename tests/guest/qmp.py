#!/usr/bin/env python3
"""A small QMP client (QEMU Machine Protocol), Python standard library only.

    from qmp import QMP
    q = QMP("/tmp/src.qmp")                 # connects, negotiates capabilities
    q.cmd("migrate-set-capabilities", {"capabilities": [...]})
    q.wait_event("MIGRATION", lambda d: d["status"] == "completed")
    print(q.hmp("info migrate"))

Command line (for shell scripts):

    qmp.py SOCKET COMMAND [JSON-ARGUMENTS]   print the command's return value
    qmp.py SOCKET hmp 'info migrate'         print an HMP command's text

Every message QEMU sends is one JSON object on one line. Replies carry the
id of their command; events (asynchronous) may come at any time and are
kept, with their timestamps, in QMP.events.
"""
import json
import socket
import sys
import time


class QMPError(Exception):
    """QEMU answered a command with an error."""


class QMP:
    def __init__(self, path, timeout=60.0):
        """Connect to QEMU's QMP unix socket PATH, or to "tcp:HOST:PORT"
        (a QEMU on another host), retrying while QEMU is starting, up to
        TIMEOUT seconds, and leave capability negotiation."""
        deadline = time.monotonic() + timeout
        while True:
            if path.startswith("tcp:"):
                host, port = path[4:].rsplit(":", 1)
                self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                addr = (host, int(port))
            else:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                addr = path
            try:
                self.sock.connect(addr)
                break
            except (FileNotFoundError, ConnectionRefusedError, OSError):
                self.sock.close()
                if time.monotonic() > deadline:
                    raise TimeoutError("no QMP socket at %s" % path) from None
                time.sleep(0.1)
        self.path = path
        self.buf = b""
        self.next_id = 0
        self.events = []        # every event received, in order
        self.taken = set()      # indexes in events already returned by wait_event
        greeting = self._read(deadline)
        if "QMP" not in greeting:
            raise QMPError("no QMP greeting: %r" % greeting)
        self.version = greeting["QMP"]["version"]["qemu"]
        self.cmd("qmp_capabilities")

    def _read(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("QMP %s: no message in time" % self.path)
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("QMP %s: no message in time" % self.path) from None
            if not data:
                raise EOFError("QMP %s: QEMU closed the connection" % self.path)
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def _dispatch(self, deadline):
        """Read one message; events are stored, a reply is returned."""
        msg = self._read(deadline)
        if "event" in msg:
            self.events.append(msg)
            return None
        return msg

    def cmd(self, name, args=None, timeout=60.0):
        """Run command NAME; return its "return" value, raise QMPError on error."""
        self.next_id += 1
        req = {"execute": name, "id": self.next_id}
        if args is not None:
            req["arguments"] = args
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        deadline = time.monotonic() + timeout
        while True:
            msg = self._dispatch(deadline)
            if msg is None or msg.get("id") != self.next_id:
                continue
            if "error" in msg:
                raise QMPError("%s: %s: %s" % (name, msg["error"].get("class"),
                                               msg["error"].get("desc")))
            return msg.get("return")

    def hmp(self, line, timeout=60.0):
        """The text of HMP command LINE (human-monitor-command)."""
        return self.cmd("human-monitor-command", {"command-line": line}, timeout)

    def poll_events(self):
        """Take in the events QEMU has sent so far, without waiting."""
        while True:
            try:
                msg = self._dispatch(time.monotonic() + 0.001)
            except TimeoutError:
                return
            if msg is not None:
                raise QMPError("unexpected reply %r" % msg)

    def wait_event(self, name, pred=None, timeout=60.0):
        """The first event NAME (whose data satisfies PRED) not returned yet."""
        deadline = time.monotonic() + timeout
        i = 0
        while True:
            while i < len(self.events):
                ev = self.events[i]
                if (i not in self.taken and ev["event"] == name and
                        (pred is None or pred(ev.get("data", {})))):
                    self.taken.add(i)
                    return ev
                i += 1
            msg = self._dispatch(deadline)
            if msg is not None:
                raise QMPError("unexpected reply %r" % msg)

    def close(self):
        self.sock.close()


def main(argv):
    if len(argv) < 3:
        print("\n\n".join(__doc__.split("\n\n")[2:4]), file=sys.stderr)
        return 2
    try:
        q = QMP(argv[1])
        if argv[2] == "hmp":
            sys.stdout.write(q.hmp(" ".join(argv[3:])))
        else:
            args = json.loads(argv[3]) if len(argv) > 3 else None
            print(json.dumps(q.cmd(argv[2], args), indent=1))
        q.close()
    except (QMPError, OSError, EOFError, ValueError) as e:
        print("qmp.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
