#!/usr/bin/env python3
"""Paired A/B of two builds of RnnCore.Benchmarks: each round runs `--peer-step` of build A and build B config by config,
alternating which goes first; prints every round with the load average, then the medians and the median per-round
ratio B/A (below 1: B is faster). Usage: python3 benchmarks/compare_builds.py A/RnnCore.Benchmarks B/RnnCore.Benchmarks
[--configs S,M,L,XL] [--cells rnn,lstm,gru] [--rounds 3] [--iters 10]. Not a test: it times things.
"""
import argparse, re, statistics, subprocess, os
ap = argparse.ArgumentParser()
ap.add_argument("a"); ap.add_argument("b")
ap.add_argument("--configs", default="S,M,L,XL"); ap.add_argument("--cells", default="rnn,lstm,gru")
ap.add_argument("--rounds", type=int, default=3); ap.add_argument("--iters", type=int, default=10)
x = ap.parse_args()
MED = re.compile(r"^(\w+): .*median ([0-9.]+) ms", re.M)
res = {}
for r in range(x.rounds):
    for cell in x.cells.split(","):
        for c in x.configs.split(","):
            if cell != "rnn" and c == "XL":
                continue
            order = [("A", x.a), ("B", x.b)] if r % 2 == 0 else [("B", x.b), ("A", x.a)]
            for name, exe in order:
                out = subprocess.run([exe, "--peer-step", "--configs", c, "--iters", str(x.iters), "--cell", cell], capture_output=True, text=True, check=True).stdout
                ms = float(MED.search(out).group(2))
                res.setdefault((cell, c), {"A": [], "B": []})[name].append(ms)
            la = open("/proc/loadavg").read().split()[0]
            d = res[(cell, c)]
            print(f"round {r+1} {cell} {c}: A {d['A'][-1]:.3f} ms  B {d['B'][-1]:.3f} ms  load {la}", flush=True)
print("\ncell config  A median  B median  median(B/A per round)")
for (cell, c), d in res.items():
    ratios = [b / a for a, b in zip(d["A"], d["B"])]
    print(f"{cell:4} {c:3}  {statistics.median(d['A']):9.3f}  {statistics.median(d['B']):9.3f}  {statistics.median(ratios):.3f}")
