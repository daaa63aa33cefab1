#!/usr/bin/env python3
"""A minimal HTTP BitTorrent tracker (BEP 3 announce + BEP 23 compact peers + scrape).

  mini_tracker.py --listen IP:PORT [--interval 30] [--ready-file F]

Only the aria2c baseline uses it, and only while the project's own shoal-tracker is not built
(distribution.sh prefers build/bin/shoal-tracker). The peer's address is the connection's
source address (every benchmark host has exactly one). Peers are forgotten on event=stopped or
after 3 intervals without an announce.
"""
import argparse
import os
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def bencode(value) -> bytes:
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(type(value).__name__)


class Swarms:
    """info_hash -> {(ip, port): (left, last_seen)}; guarded by one lock."""

    def __init__(self, interval: int):
        self.interval = interval
        self.lock = threading.Lock()
        self.swarms = {}

    def announce(self, info_hash, ip, port, left, event, numwant):
        now = time.monotonic()
        with self.lock:
            peers = self.swarms.setdefault(info_hash, {})
            for key in [k for k, (_, seen) in peers.items() if now - seen > 3 * self.interval]:
                del peers[key]
            if event == "stopped":
                peers.pop((ip, port), None)
            else:
                peers[(ip, port)] = (left, now)
            others = [k for k in peers if k != (ip, port)]
            complete = sum(1 for left_, _ in peers.values() if left_ == 0)
            incomplete = len(peers) - complete
        random.shuffle(others)
        compact = b"".join(socket.inet_aton(a) + struct.pack("!H", p) for a, p in others[:numwant])
        return {
            "interval": self.interval,
            "min interval": max(1, self.interval // 2),
            "complete": complete,
            "incomplete": incomplete,
            "peers": compact,
        }

    def scrape(self, hashes):
        with self.lock:
            files = {}
            for h in hashes or list(self.swarms):
                peers = self.swarms.get(h, {})
                done = sum(1 for left, _ in peers.values() if left == 0)
                files[h] = {"complete": done, "incomplete": len(peers) - done, "downloaded": 0}
        return {"files": files}


class Handler(BaseHTTPRequestHandler):
    swarms: Swarms = None

    def log_message(self, fmt, *args):  # quiet: the benchmark reads results, not access logs
        pass

    def reply(self, body: dict, status=200):
        data = bencode(body)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        # info_hash and peer_id are raw bytes, percent-encoded: decode as latin-1 to keep them.
        query = urllib.parse.parse_qs(url.query, encoding="latin-1")
        hashes = [h.encode("latin-1") for h in query.get("info_hash", [])]
        try:
            if url.path == "/announce":
                if len(hashes) != 1 or len(hashes[0]) != 20:
                    return self.reply({"failure reason": "bad info_hash"}, 400)
                body = self.swarms.announce(
                    hashes[0],
                    self.client_address[0],
                    int(query["port"][0]),
                    int(query.get("left", ["1"])[0]),
                    query.get("event", [""])[0],
                    int(query.get("numwant", ["50"])[0]),
                )
                return self.reply(body)
            if url.path == "/scrape":
                return self.reply(self.swarms.scrape(hashes))
        except (KeyError, ValueError) as e:
            return self.reply({"failure reason": f"bad request: {e}"}, 400)
        self.reply({"failure reason": "not found"}, 404)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", required=True, help="IP:PORT")
    ap.add_argument("--interval", type=int, default=30)
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)
    Handler.swarms = Swarms(args.interval)
    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"listen={host}:{server.server_address[1]}\n")
        os.rename(tmp, args.ready_file)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
