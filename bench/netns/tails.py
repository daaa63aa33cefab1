#!/usr/bin/env python3
"""Per kept case (SHOAL_BENCH_KEEP_LOGS=DIR of distribution.sh), what the Shoal nodes' streamed
check left to hash at the last piece, from their "while downloading (...)" log lines.

  tails.py DIR   ->  case, nodes, bytes left at the last piece (median / max MB), seconds to
                     digest them (median / max), verified prefix at 90% of pieces (median),
                     downloads that libtorrent called finished with pieces missing (column picking)
"""
import pathlib
import re
import statistics
import sys

LINE = re.compile(r"\((\d+) bytes left at the last piece, ([\d.e+-]+) s to digest.*?"
                  r"prefix at 90% of pieces in: (-?\d+) of (\d+)")

def main(root):
    print("case\tnodes\tleft_MB_median\tleft_MB_max\ttail_s_median\ttail_s_max\tprefix90_median\trescued")
    for case in sorted(p for p in pathlib.Path(root).iterdir() if p.is_dir()):
        left, secs, prefix, rescued, pieces = [], [], [], 0, 0
        for log in sorted(case.glob("node-*.log")):
            text = log.read_text(errors="replace")
            rescued += "are missing; wanting them all now" in text
            m = None
            for m in LINE.finditer(text):
                pass
            if m:
                left.append(int(m.group(1)) / 1e6)
                secs.append(float(m.group(2)))
                prefix.append(int(m.group(3)))
                pieces = int(m.group(4))
        if not left:
            continue
        print(f"{case.name}\t{len(left)}\t{statistics.median(left):.1f}\t{max(left):.1f}\t"
              f"{statistics.median(secs):.2f}\t{max(secs):.2f}\t"
              f"{statistics.median(prefix):.0f}/{pieces}\t{rescued}")

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
