#!/usr/bin/env python3
"""Turns bench/results/distribution.tsv into distribution.md and distribution.png.

  report.py RESULTS.tsv OUT_DIR

The PNG has two panels against N: time to all-done (with the bound T*) and the ratio to T*.
Cases at different link rates share the x axis; the markdown table says which rate each used.
"""
import csv
import os
import shutil
import subprocess
import sys
import tempfile

METHODS = [("http", "HTTP push"), ("aria2c", "aria2c swarm"), ("shoal", "Shoal"),
           ("shoal-ss", "Shoal, super-seeding origin")]


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def size_key(row):
    return (row["size"], int(row["N"]))


def complete(row):
    return "INCOMPLETE" not in row["note"]


def markdown(rows):
    out = [
        "# Distribution benchmark results",
        "",
        "One origin sends one file of S bytes to N nodes; every host has one link shaped with tbf",
        "to the given rate in both directions (bench/netns/topology.sh). g is the measured HTTP",
        "goodput of one link; the bound is T* = max(S/u_seed, S/d, N·S/(u_seed + N·u)) with",
        "u_seed = u = d = g (= S/g here). `ratio` = time / T*; `ratio_nominal` = time / (S/R) with",
        "the nominal rate R, the convention of shared/NOTES-bench.md. first/median: when the first",
        "and the median node finished. CPU: `machine` = whole-machine busy share during the timed",
        "phase from /proc/stat (2 cores, includes softirq and other engineers' builds: `bg` is the",
        "busy share in the 2 s before the case); `proc` = CPU seconds of the benchmark's own",
        "processes (cpuacct cgroup, excludes softirq). Per GiB = per GiB delivered (N·S).",
        "This machine is shared with compilers, so CPU figures are noisy.",
        "",
        "| method | N | rate | S | g MB/s | time s | T* s | ratio | ratio_nominal | first s |"
        " median s | md5 ok | machine CPU % (bg %) | machine CPU s/GiB | proc CPU s | proc CPU s/GiB"
        " | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    order = {m: k for k, (m, _) in enumerate(METHODS)}
    for r in sorted(rows, key=lambda r: (size_key(r), order.get(r["method"], 9))):
        cpu = f"{r['machine_cpu_pct']} ({r['bg_cpu_pct']})" if r["machine_cpu_pct"] else ""
        out.append(
            "| "
            + " | ".join(
                [
                    r["method"], r["N"], r["rate"], r["size"], r["goodput_MBps"],
                    r["wall_s"] if complete(r) else f"failed after {r['wall_s']}",
                    r["Tstar_s"], r["ratio"], r["ratio_nominal"], r["first_s"], r["median_s"],
                    r["md5_ok"], cpu, r["machine_cpu_s_per_GiB"], r["proc_cpu_s"],
                    r["proc_cpu_s_per_GiB"], r["note"],
                ]
            )
            + " |"
        )
    return "\n".join(out) + "\n"


def plot(rows, png):
    sizes = sorted({r["size"] for r in rows})
    size = "128M" if "128M" in sizes else sizes[0]
    # Only complete runs are plotted: an incomplete run's "time" is when its clients gave up.
    rows = [r for r in rows if r["size"] == size and r["wall_s"] and complete(r)]
    if not rows:
        return
    tmp = tempfile.mkdtemp(prefix="shoal-b-plot.")
    bound = {}
    for r in rows:
        bound[int(r["N"])] = (r["Tstar_s"], r["rate"])
    with open(os.path.join(tmp, "bound.dat"), "w") as f:
        for n in sorted(bound):
            f.write(f"{n} {bound[n][0]} 1\n")
    series = []
    for method, title in METHODS:
        pts = sorted((int(r["N"]), r["wall_s"], r["ratio"]) for r in rows if r["method"] == method)
        if pts:
            with open(os.path.join(tmp, f"{method}.dat"), "w") as f:
                f.writelines(f"{n} {t} {q}\n" for n, t, q in pts)
            series.append((method, title))
    rates = ", ".join(f"N={n}: {bound[n][1]}" for n in sorted(bound))
    def plots(col):
        parts = [f"'{tmp}/bound.dat' using 1:{col} with linespoints lw 2 dt 2 title 'bound T*'"]
        parts += [f"'{tmp}/{m}.dat' using 1:{col} with linespoints lw 2 title '{t}'"
                  for m, t in series]
        return ", ".join(parts)
    script = f"""
set terminal pngcairo size 1200,500 font ',10'
set output '{png}'
set multiplot layout 1,2 title 'Distribution of one {size} file to N nodes ({rates})'
set key top left
set grid
set xlabel 'nodes N'
set logscale x 2
set xtics ({', '.join(str(n) for n in sorted(bound))})
set xrange [{min(bound) / 1.25}:{max(bound) * 1.25}]
set ylabel 'time to all nodes done (s)'
set logscale y
plot {plots(2)}
set ylabel 'time / T*'
unset logscale y
set yrange [0:*]
plot {plots(3)}
unset multiplot
"""
    try:
        subprocess.run(["gnuplot"], input=script.encode(), check=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    tsv, out_dir = sys.argv[1], sys.argv[2]
    rows = load(tsv)
    with open(os.path.join(out_dir, "distribution.md"), "w") as f:
        f.write(markdown(rows))
    try:
        plot(rows, os.path.join(out_dir, "distribution.png"))
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"report: no plot ({e})", file=sys.stderr)
    print(f"report: wrote {out_dir}/distribution.md and distribution.png")


if __name__ == "__main__":
    main()
