#!/usr/bin/env python3
"""Writes a BitTorrent v1 single-file .torrent (BEP 3) for the aria2c baseline.

  make_torrent.py FILE --announce URL [--piece-length 262144] -o OUT.torrent

Prints the info-hash (hex) on stdout. Standard library only, so the benchmark needs no
torrent-maker package.
"""
import argparse
import hashlib
import os
import sys


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
    raise TypeError(f"cannot bencode {type(value).__name__}")


def piece_hashes(path: str, piece_length: int) -> bytes:
    out = bytearray()
    with open(path, "rb") as f:
        while True:
            piece = f.read(piece_length)
            if not piece:
                break
            out += hashlib.sha1(piece).digest()
    return bytes(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--announce", required=True)
    ap.add_argument("--piece-length", type=int, default=256 * 1024)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    if args.piece_length < 16384 or args.piece_length & (args.piece_length - 1):
        print("piece length must be a power of two >= 16384", file=sys.stderr)
        return 2
    info = {
        "name": os.path.basename(args.file),
        "length": os.path.getsize(args.file),
        "piece length": args.piece_length,
        "pieces": piece_hashes(args.file, args.piece_length),
    }
    with open(args.output, "wb") as f:
        f.write(bencode({"announce": args.announce, "info": info}))
    print(hashlib.sha1(bencode(info)).hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main())
