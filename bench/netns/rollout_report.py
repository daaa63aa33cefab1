#!/usr/bin/env python3
"""The waved-rollout benchmark's verdict, from distribution.sh's per-run table.

  rollout_report.py RUNS.tsv [SESSION [WHAT-WAS-RUN]] > rollout.md

RUNS.tsv is what `distribution.sh --methods "shoal rollout rollout-noprestage" --repeat K`
appends to (one row per run, with `session` and `run`); SESSION defaults to the latest. Each
run k of the session pairs the rollout with the plain swarm fetch of the same round (the runs
are interleaved, so a pair saw the same background load), and the target of issue 11 is
checked per pair: rollout time <= 1.2 x (plain swarm time + the waves' command time), where
the command time is the sum over waves of the slowest host's command (from the row's note).
"""
import csv
import re
import statistics
import sys

rows = list(csv.DictReader(open(sys.argv[1], newline=""), delimiter="\t"))
session = sys.argv[2] if len(sys.argv) > 2 else max(r["session"] for r in rows)
rows = [r for r in rows if r["session"] == session]
by = {(r["method"], r["run"]): r for r in rows}
runs = sorted({r["run"] for r in rows}, key=int)


def commands(r):
    m = re.search(r"commands ([0-9.]+)s", r["note"])
    return float(m.group(1)) if m else 0.0


def wave1_fetch(r):
    m = re.search(r"wave 1 fetch ([0-9.]+)s", r["note"]) if r else None
    return f"{float(m.group(1)):.1f}" if m else "-"


def origin(r):
    m = re.search(r"origin sent ([0-9.]+) x S", r["note"])
    return float(m.group(1)) if m else float("nan")


def complete(r):
    return r is not None and "INCOMPLETE" not in r["note"] and r["wall_s"]


first = rows[0]
print(f"# Waved rollout on a shaped network (session {session})\n")
print(f"Binaries: {sys.argv[3] if len(sys.argv) > 3 else 'see the session'}. "
      f"N={first['N']} nodes, {first['size']} artifact, every link {first['rate']} "
      f"(measured goodput {first['goodput_MBps']} MB/s), T* = {first['Tstar_s']} s. "
      "`rollout` is one `shoal apply` of a job (file step + command: md5 check of the "
      "installed file, then `sleep 1`), waves `1 25% 100%`, through the planner; "
      "`rollout-noprestage` the same with `prestage: false`; `shoal` is the plain swarm: "
      "`shoal fetch` on all N nodes at once. Runs interleaved in one topology, "
      "one round per row.\n")
print("| round | plain swarm s | rollout s (prestage) | commands s | rollout / (plain + commands) "
      "| rollout s (no prestage) | no-prestage / (plain + commands) | wave 1 fetch s prestage / "
      "no prestage | origin copies plain / prestage / no prestage |")
print("|---|---|---|---|---|---|---|---|---|")
ratios, ratios_np, table = [], [], {"plain": [], "pre": [], "np": [], "cmd": []}
for k in runs:
    plain, pre, np_ = (by.get((m, k)) for m in ("shoal", "rollout", "rollout-noprestage"))
    if not (complete(plain) and complete(pre)):
        print(f"| {k} | incomplete run: see distribution-runs.tsv | | | | | | | |")
        continue
    p, r, c = float(plain["wall_s"]), float(pre["wall_s"]), commands(pre)
    ratio = r / (p + c)
    ratios.append(ratio)
    table["plain"].append(p), table["pre"].append(r), table["cmd"].append(c)
    npw = npr = "-"
    if complete(np_):
        w = float(np_["wall_s"])
        table["np"].append(w)
        ratios_np.append(w / (p + commands(np_)))
        npw, npr = f"{w:.1f}", f"{ratios_np[-1]:.2f}"
    print(f"| {k} | {p:.1f} | {r:.1f} | {c:.1f} | {ratio:.2f} | {npw} | {npr} | "
          f"{wave1_fetch(pre)} / {wave1_fetch(np_)} | {origin(plain):.2f} / {origin(pre):.2f} / "
          f"{origin(np_) if np_ else float('nan'):.2f} |")
if ratios:
    med = statistics.median
    print(f"| median | {med(table['plain']):.1f} | {med(table['pre']):.1f} | "
          f"{med(table['cmd']):.1f} | **{med(ratios):.2f}** | "
          f"{med(table['np']) if table['np'] else float('nan'):.1f} | "
          f"{med(ratios_np) if ratios_np else float('nan'):.2f} | | |")
    verdict = "met" if med(ratios) <= 1.2 else "NOT met"
    print(f"\nTarget (issue 11): with pre-staging, rollout <= 1.2 x (plain swarm + commands): "
          f"median {med(ratios):.2f} over {len(ratios)} rounds, worst {max(ratios):.2f}: "
          f"**{verdict}**.")
