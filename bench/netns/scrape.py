#!/usr/bin/env python3
"""Prints how many seeds a tracker reports for one torrent (BEP 48 scrape), or -1 on error.

  scrape.py http://IP:PORT/announce INFO_HASH_HEX

The benchmark uses it to start the downloaders only once the origin's seed is registered.
"""
import sys
import urllib.parse
import urllib.request


def bdecode(data: bytes, i: int = 0):
    c = data[i : i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1 : end]), end + 1
    if c in (b"l", b"d"):
        i += 1
        items = []
        while data[i : i + 1] != b"e":
            v, i = bdecode(data, i)
            items.append(v)
        if c == b"l":
            return items, i + 1
        return dict(zip(items[::2], items[1::2])), i + 1
    colon = data.index(b":", i)
    n = int(data[i:colon])
    return data[colon + 1 : colon + 1 + n], colon + 1 + n


def main() -> int:
    announce, info_hash_hex = sys.argv[1], sys.argv[2]
    info_hash = bytes.fromhex(info_hash_hex)
    url = announce.replace("/announce", "/scrape") + "?info_hash=" + urllib.parse.quote(info_hash)
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            body, _ = bdecode(r.read())
        print(body[b"files"][info_hash][b"complete"])
    except Exception:  # any failure means "not known yet" to the caller
        print(-1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
