#!/usr/bin/env python3
"""The training step's share of the cores' FMA peak, with the peak measured in the same minute as the step.

On a VM whose cores are hyperthreads shared with other tenants, the FMA peak itself moves (a register-only FMA loop
on this machine kind has given anywhere from 184 to 474 GFLOP/s on two threads within an hour), so "percent of
peak" against a figure from another day says more about the neighbours than about the step. Each round here runs the
benchmark's `--fma-peak` (two threads, each running twelve chains of vector FMAs and nothing else), then `--peer-step` for
each cell and config, then `--fma-peak` again; a round's share is the step's GFLOP/s (the peers' FLOP count, as
`--peer-step` prints it) over the mean of the two peaks around it. Prints every round with the load average, then the
median share per cell and config. Not a test: it times things.

Usage:
  python3 benchmarks/percent_of_peak.py [--exe PATH] [--peak-exe PATH] [--configs L,XL] [--cells rnn,lstm,gru] [--rounds 5] [--iters 10]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

PEAK = re.compile(r"median ([0-9.]+) GFLOP/s")
STEP = re.compile(r"^(\w+): .*median ([0-9.]+) ms .* ([0-9.]+) GFLOP/s", re.M)


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exe", default=os.path.join(here, "RnnCore.Benchmarks", "bin", "Release", "net10.0", "RnnCore.Benchmarks"))
    parser.add_argument("--peak-exe", default=None, help="the build whose --fma-peak to run (default: --exe; builds before it lack the mode)")
    parser.add_argument("--configs", default="L,XL")
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iters", type=int, default=10)
    args = parser.parse_args()
    if not os.path.exists(args.exe):
        print(f"percent_of_peak: {args.exe} does not exist; build it with: dotnet build benchmarks/RnnCore.Benchmarks -c Release", file=sys.stderr)
        return 2

    def peak() -> float:
        out = subprocess.run([args.peak_exe or args.exe, "--fma-peak", "--threads", "2", "--repeats", "5"], capture_output=True, text=True, check=True).stdout
        return float(PEAK.search(out).group(1))

    shares = {}
    for r in range(args.rounds):
        for cell in args.cells.split(","):
            for config in args.configs.split(","):
                if cell != "rnn" and config == "XL":
                    continue  # the LSTM and GRU rows stop at L
                before = peak()
                out = subprocess.run([args.exe, "--peer-step", "--configs", config, "--iters", str(args.iters), "--cell", cell],
                                     capture_output=True, text=True, check=True).stdout
                after = peak()
                _, ms, gflops = STEP.search(out).groups()
                share = float(gflops) / ((before + after) / 2)
                shares.setdefault((cell, config), []).append((share, float(ms), before, after))
                load = open("/proc/loadavg").read().split()[0]
                print(f"round {r + 1} {cell} {config}: {float(ms):.1f} ms, {float(gflops):.1f} GFLOP/s; peak {before:.1f} / {after:.1f}; "
                      f"share {share * 100:.1f} %; load {load}", flush=True)

    print("\ncell config  median ms  median share  shares (each round)")
    for (cell, config), rows in shares.items():
        values = [s for s, _, _, _ in rows]
        print(f"{cell:4} {config:3}  {statistics.median(m for _, m, _, _ in rows):9.1f}  {statistics.median(values) * 100:11.1f} %  "
              + " ".join(f"{v * 100:.0f}" for v in values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
