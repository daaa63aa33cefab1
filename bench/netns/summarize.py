#!/usr/bin/env python3
"""Median row per case from repeated runs (distribution.sh --repeat K).

  summarize.py RUNS.tsv SESSION   -> prints, for every (method, N, rate, size) of SESSION, the
                                     run with the median time as a distribution.tsv row (its
                                     note extended with every run's time, the spread, CPU/GiB
                                     and origin copies), one per line, and a table on stderr.

RUNS.tsv has distribution.tsv's columns plus `session` and `run`. The spread is
(max - min) / median of the complete runs' times; an incomplete run counts as failed, and a
case with any failed run says so in its note.
"""
import csv
import re
import statistics
import sys

runs_path, session = sys.argv[1], sys.argv[2]
with open(runs_path, newline="") as f:
    rows = [r for r in csv.DictReader(f, delimiter="\t") if r["session"] == session]
cols = ["method", "N", "rate", "size", "goodput_MBps", "wall_s", "Tstar_s", "ratio",
        "ratio_nominal", "first_s", "median_s", "md5_ok", "machine_cpu_pct", "bg_cpu_pct",
        "machine_cpu_s_per_GiB", "proc_cpu_s", "proc_cpu_s_per_GiB", "note"]
cases = {}
for r in rows:
    cases.setdefault((r["method"], r["N"], r["rate"], r["size"]), []).append(r)


def origin(r):
    m = re.search(r"origin sent ([0-9.]+) x S", r["note"])
    return float(m.group(1)) if m else None


print(f"{'method':8} {'N':>3} {'rate':8} {'runs':>4} {'median s':>8} {'ratio':>6} {'spread':>7} "
      f"{'CPU s/GiB':>10} {'machine':>8} {'origin':>6}  times", file=sys.stderr)
for key, rs in sorted(cases.items(), key=lambda kv: (int(kv[0][1]), kv[0][0])):
    ok = [r for r in rs if "INCOMPLETE" not in r["note"] and r["wall_s"]]
    pick = sorted(ok or rs, key=lambda r: float(r["wall_s"] or 0))
    med = pick[(len(pick) - 1) // 2] if len(pick) % 2 else pick[len(pick) // 2 - 1]
    walls = [float(r["wall_s"]) for r in ok]
    mwall = statistics.median(walls) if walls else 0
    spread = (max(walls) - min(walls)) / mwall * 100 if len(walls) > 1 and mwall else 0
    cpus = [float(r["proc_cpu_s_per_GiB"]) for r in ok if r["proc_cpu_s_per_GiB"]]
    # The whole machine's busy CPU over the run: softirq included wherever it ran, so no method
    # is charged for another's packets; other users' load too (bg_cpu_pct, before the case).
    machine = [float(r["machine_cpu_s_per_GiB"]) for r in ok if r["machine_cpu_s_per_GiB"]]
    origins = [o for o in (origin(r) for r in ok) if o is not None]
    out = dict(med)
    base = re.sub(r"; origin sent [0-9.]+ x S", "", med["note"])
    extra = (f"median of {len(rs)} runs (times {'/'.join(f'{w:.1f}' for w in walls)} s, "
             f"spread {spread:.0f}%; proc CPU s/GiB {'/'.join(f'{c:.1f}' for c in cpus)}; "
             f"machine CPU s/GiB {'/'.join(f'{c:.1f}' for c in machine)}; "
             f"origin sent {'/'.join(f'{o:.2f}' for o in origins)} x S)")
    if len(ok) < len(rs):
        extra += f"; {len(rs) - len(ok)} of {len(rs)} runs INCOMPLETE"
    out["note"] = f"{base}; {extra}"
    # The row's own time is the median of the complete runs (for an even count, the lower one).
    print("\t".join(out[c] for c in cols))
    print(f"{key[0]:8} {key[1]:>3} {key[2]:8} {len(rs):>4} {float(med['wall_s'] or 0):8.1f} "
          f"{med['ratio']:>6} {spread:6.0f}% "
          f"{statistics.median(cpus) if cpus else 0:10.1f} "
          f"{statistics.median(machine) if machine else 0:8.1f} "
          f"{statistics.median(origins) if origins else 0:6.2f}  "
          f"{' '.join(f'{w:.1f}' for w in walls)}", file=sys.stderr)
