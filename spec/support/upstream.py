#!/usr/bin/env python3
"""A scripted TCP upstream for the cosocket specs (stdlib only, 127.0.0.1 only).

Each connection is told what to do by the first line the client sends, optionally preceded
by a tag (`@name CMD args`) that names it in the records:

  ECHO              echoes each line back; inside it, `CLOSEIN ms` answers "ok" and closes
                    (FIN) ms later, `SAYIN ms text` answers "ok" and sends text ms later,
                    `QUIT` closes at once
  ECHOALL           echoes every byte back as it comes
  SEND n | STALL n  sends n bytes of the pattern (see below), then goes silent (keeps reading)
  SAY text          sends text, then goes silent (keeps reading)
  SENDCLOSE text    sends text, then closes (FIN)
  SENDRESET text    sends text, then resets (RST: SO_LINGER 0)
  AFTER ms text     sends text ms later, then goes silent
  DRIP ms text      sends text one byte every ms, then goes silent
  RESET             resets at once
  SILENT            reads and never answers
  FLOOD n           sends n bytes of the pattern as fast as the client takes them, then closes
  NOREAD            never reads again (the client's sends fill the buffers)

text takes the escapes \\r \\n \\\\ \\xHH. The pattern: byte i is "abcdefghijklmnopqrstuvwxyz"[i % 26].

Control commands, on a connection of their own (not recorded), answer and close:
  STATS [tag]       one line per recorded connection (with that tag), "id tag mode in open
                    eof reset", then "accepted N open M" (totals over every connection)
  TOTALS            only the totals line
  CLEAR             forgets the records of closed connections

Options: --dir DIR (writes DIR/ready once listening: "PORT BLACKHOLE_PORT"), --unix PATH (the
same service on a Unix socket). The blackhole port is a listener whose queue is full and that
never accepts: a connect to it hangs until the client gives up.
"""

import argparse
import asyncio
import os
import signal
import socket
import struct
import sys

ALPHABET = b"abcdefghijklmnopqrstuvwxyz"


def pattern(start, n):
    """n bytes of the pattern from offset start."""
    if n <= 0:
        return b""
    first = start % 26
    reps = (first + n) // 26 + 1
    return (ALPHABET * reps)[first:first + n]


def unescape(text):
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            d = text[i + 1]
            if d == "n":
                out += b"\n"
                i += 2
                continue
            if d == "r":
                out += b"\r"
                i += 2
                continue
            if d == "\\":
                out += b"\\"
                i += 2
                continue
            if d == "x" and i + 4 <= len(text):
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
        out += c.encode("latin-1")
        i += 1
    return bytes(out)


class Record:
    next_id = 1

    def __init__(self):
        self.id = Record.next_id
        Record.next_id += 1
        self.tag = "-"
        self.mode = "?"
        self.bytes_in = 0  # after the first line
        self.open = True
        self.eof = False    # the client sent FIN
        self.reset = False  # the client reset


class State:
    def __init__(self):
        self.records = []
        self.accepted = 0


STATE = State()


class Conn(asyncio.Protocol):
    def __init__(self):
        self.t = None
        self.rec = None
        self.head = b""
        self.mode = None
        self.line_buf = b""
        self.flood_left = 0
        self.flood_off = 0
        self.paused = False
        self.timers = []

    # ---------------------------------------------------------------- plumbing

    def connection_made(self, transport):
        self.t = transport

    def later(self, ms, fn):
        self.timers.append(asyncio.get_running_loop().call_later(ms / 1000.0, fn))

    def write(self, data):
        if not self.t.is_closing():
            self.t.write(data)

    def close(self):
        if not self.t.is_closing():
            self.t.close()

    def reset(self):
        sock = self.t.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.t.abort()

    def connection_lost(self, exc):
        for h in self.timers:
            h.cancel()
        if self.rec:
            self.rec.open = False
            if isinstance(exc, ConnectionResetError):
                self.rec.reset = True

    def eof_received(self):
        if self.rec:
            self.rec.eof = True
        return False  # close our side too

    # ---------------------------------------------------------------- input

    def data_received(self, data):
        if self.mode is None:
            self.head += data
            nl = self.head.find(b"\n")
            if nl < 0:
                if len(self.head) > 65536:
                    self.close()
                return
            line = self.head[:nl].rstrip(b"\r").decode("latin-1")
            rest = self.head[nl + 1:]
            self.head = b""
            self.start(line)
            if rest and self.mode is not None:
                self.data_received(rest)
            return
        if self.rec:
            self.rec.bytes_in += len(data)
        if self.mode == "ECHO":
            self.line_buf += data
            while True:
                nl = self.line_buf.find(b"\n")
                if nl < 0:
                    break
                line = self.line_buf[:nl + 1]
                self.line_buf = self.line_buf[nl + 1:]
                self.echo_line(line)
        elif self.mode == "ECHOALL":
            self.write(data)
        # every other mode reads and drops what comes

    def echo_line(self, line):
        text = line.rstrip(b"\n").rstrip(b"\r").decode("latin-1")
        word, _, arg = text.partition(" ")
        if word == "CLOSEIN":
            self.write(b"ok\n")
            self.later(int(arg), self.close)
        elif word == "SAYIN":
            ms, _, what = arg.partition(" ")
            self.write(b"ok\n")
            self.later(int(ms), lambda: self.write(unescape(what)))
        elif word == "QUIT":
            self.close()
        else:
            self.write(line)

    # ---------------------------------------------------------------- commands

    def start(self, line):
        tag = "-"
        if line.startswith("@"):
            tag, _, line = line.partition(" ")
            tag = tag[1:]
        cmd, _, arg = line.partition(" ")
        if cmd in ("STATS", "TOTALS"):
            self.mode = "CONTROL"
            out = []
            open_n = 0
            for r in STATE.records:
                if cmd == "STATS" and (not arg or r.tag == arg):
                    out.append("%d %s %s %d %d %d %d\n" % (r.id, r.tag, r.mode, r.bytes_in,
                                                           int(r.open), int(r.eof), int(r.reset)))
                open_n += int(r.open)
            out.append("accepted %d open %d\n" % (STATE.accepted, open_n))
            self.write("".join(out).encode())
            self.close()
            return
        if cmd == "CLEAR":
            self.mode = "CONTROL"
            STATE.records = [r for r in STATE.records if r.open]
            self.write(b"ok\n")
            self.close()
            return
        self.rec = Record()
        self.rec.tag = tag
        self.rec.mode = cmd or "?"
        STATE.records.append(self.rec)
        STATE.accepted += 1
        self.mode = cmd
        if cmd in ("ECHO", "ECHOALL", "SILENT"):
            pass
        elif cmd in ("SEND", "STALL"):
            self.write(pattern(0, int(arg)))
        elif cmd == "SAY":
            self.write(unescape(arg))
        elif cmd == "SENDCLOSE":
            self.write(unescape(arg))
            self.close()
        elif cmd == "SENDRESET":
            self.write(unescape(arg))
            # let the bytes leave before the reset
            self.later(50, self.reset)
        elif cmd == "AFTER":
            ms, _, what = arg.partition(" ")
            self.later(int(ms), lambda: self.write(unescape(what)))
        elif cmd == "DRIP":
            ms, _, what = arg.partition(" ")
            data = unescape(what)
            for i in range(len(data)):
                self.later(int(ms) * (i + 1), lambda b=data[i:i + 1]: self.write(b))
        elif cmd == "RESET":
            self.reset()
        elif cmd == "FLOOD":
            self.flood_left = int(arg)
            self.flood()
        elif cmd == "NOREAD":
            self.t.pause_reading()
        else:
            self.write(b"unknown command\n")
            self.close()

    # ---------------------------------------------------------------- flood

    def flood(self):
        while self.flood_left > 0 and not self.paused and not self.t.is_closing():
            n = min(self.flood_left, 256 * 1024)
            self.t.write(pattern(self.flood_off, n))
            self.flood_off += n
            self.flood_left -= n
        if self.flood_left == 0 and not self.paused:
            self.close()

    def pause_writing(self):
        self.paused = True

    def resume_writing(self):
        self.paused = False
        if self.mode == "FLOOD":
            self.flood()


def blackhole():
    """A listener whose accept queue is full and that never accepts."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    fillers = []
    for _ in range(16):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(0.1)
        try:
            s.connect(("127.0.0.1", port))
            fillers.append(s)
        except (socket.timeout, OSError):
            s.close()
            break
    else:
        raise SystemExit("could not fill the blackhole listener's queue")
    return ls, fillers, port


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--unix")
    args = ap.parse_args()
    loop = asyncio.get_running_loop()

    server = await loop.create_server(Conn, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    userver = None
    if args.unix:
        userver = await loop.create_unix_server(Conn, args.unix, backlog=1024)
    hole, fillers, hole_port = blackhole()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    tmp = os.path.join(args.dir, "ready.tmp")
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (port, hole_port))
    os.rename(tmp, os.path.join(args.dir, "ready"))
    await stop.wait()
    server.close()
    if userver:
        userver.close()
    for s in fillers:
        s.close()
    hole.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    sys.exit(0)
