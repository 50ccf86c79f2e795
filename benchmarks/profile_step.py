#!/usr/bin/env python3
"""Where a training step's time goes, sampled with Linux perf from the real step through the public API.

Runs the benchmark's `--peer-step` (the step every comparison times: RecurrentModel, Bptt and the optimizer, nothing
re-implemented) under `perf record`, with the runtime writing a perf map so that JIT-compiled methods have names, keeps
the samples of the last part of the run (after start-up, JIT and warm-up), and sums them into a few groups: the GEMM's
micro-kernel, its packing and loop nest, the cells' element-wise work, the loss and head, the BPTT's bookkeeping, the
optimizer, threads waiting (the runtime's spin and the kernel's scheduler), and the rest.

The shares are of CPU samples of the whole process (every thread), so a thread that spins while it waits counts as
time spent; on a busy machine waiting grows. Print with the machine's load. A second table splits the same samples by
thread: the calling thread (the one that runs the step, and its share of each product), the kernel workers ("RnnCore
kernel worker N"), and the runtime's own threads; work that only the calling thread does shows as the workers'
waiting.

Usage:
  python3 benchmarks/profile_step.py [--dll PATH] [--configs L] [--cell rnn|lstm|gru] [--iters 40] [--threads N]
                                     [--keep 60] [--top 12]
Needs `perf` (linux-perf) and permission to sample user code (perf_event_paranoid <= 2).
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

# Groups, first match wins: (name, regular expression over "dso|symbol").
GROUPS = [
    ("GEMM micro-kernel", r"GemmMicroKernel"),
    ("GEMM packing", r"GemmPacking|PackedMatrix"),
    ("GEMM loop nest and dispatch", r"RnnCore\.Kernels\.(GemmBlocking|Gemm::|Gemm`)"),
    ("threads: kernel workers' hand-offs", r"RnnCore\.Kernels\.KernelWorkers"),
    ("cells and activations (element-wise)", r"RnnCore\.(Cells|Activations)\.|BackwardStepColumns|TensorPrimitives|VectorMath|Vector512|Vector256"),
    ("loss and output head", r"RnnCore\.Losses\.|OutputHead|SoftmaxCrossEntropy"),
    ("BPTT and forward bookkeeping", r"RnnCore\.Models\.|RnnCore\.Internal\."),
    ("optimizer and clipping", r"RnnCore\.Optimizers\."),
    ("memory copies and fills", r"Memmove|memmove|memset|Memset|SpanHelpers|clear_page"),
    ("runtime (spin-waits, GC, stubs): libcoreclr", r"^libcoreclr"),
    ("JIT compiler", r"^libclrjit"),
    ("operating system (scheduler, interrupts)", r"^\[kernel"),
]


def thread_of(comm: str) -> str:
    """The calling thread, a kernel worker, or one of the runtime's own threads, from perf's (truncated) thread name."""
    if comm.startswith("RnnCore kernel"):
        return "kernel workers"
    if comm.startswith(".NET") or comm.startswith("dotnet-") or comm.startswith("Finalizer"):
        return "runtime threads"
    return "calling thread"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--dll", default=os.path.join(here, "RnnCore.Benchmarks", "bin", "Release", "net10.0", "RnnCore.Benchmarks.dll"))
    parser.add_argument("--configs", default="L")
    parser.add_argument("--cell", default="rnn", choices=["rnn", "lstm", "gru"])
    parser.add_argument("--iters", type=int, default=40)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--keep", type=int, default=60, help="percent of the recording kept, from its end (default 60)")
    parser.add_argument("--top", type=int, default=12, help="methods listed by name (default 12)")
    args = parser.parse_args()
    if not os.path.exists(args.dll):
        print(f"profile_step: {args.dll} does not exist; build it with: dotnet build benchmarks/RnnCore.Benchmarks -c Release", file=sys.stderr)
        return 2
    if not 1 <= args.keep <= 100:
        print(f"profile_step: --keep must be in [1, 100], but was {args.keep}", file=sys.stderr)
        return 2

    env = dict(os.environ, DOTNET_PerfMapEnabled="1", DOTNET_EnableWriteXorExecute="0")
    command = ["dotnet", args.dll, "--peer-step", "--configs", args.configs, "--cell", args.cell, "--iters", str(args.iters)]
    if args.threads is not None:
        command += ["--threads", str(args.threads)]
    with tempfile.TemporaryDirectory(prefix="profile-step-") as folder:
        data = os.path.join(folder, "perf.data")
        with open("/proc/loadavg") as f:
            load_before = f.read().split()[:3]
        run = subprocess.run(["perf", "record", "-F", "999", "-q", "-o", data, "--"] + command, env=env, capture_output=True, text=True)
        with open("/proc/loadavg") as f:
            load_after = f.read().split()[:3]
        if run.returncode != 0:
            print(run.stdout + run.stderr, file=sys.stderr)
            return run.returncode or 1
        report = subprocess.run(
            ["perf", "report", "-i", data, "--no-children", "--sort", "comm,dso,sym", "--stdio", "-g", "none", "-t", "|",
             "--time", f"{100 - args.keep}%-100%"],
            capture_output=True, text=True)
        if report.returncode != 0:
            print(report.stderr, file=sys.stderr)
            return report.returncode

    rows = []
    for line in report.stdout.splitlines():
        if line.startswith("#") or "|" not in line:
            continue
        parts = line.split("|", 3)
        if len(parts) < 4:
            continue
        try:
            share = float(parts[0].strip().rstrip("%"))
        except ValueError:
            continue
        comm, dso, symbol = parts[1].strip(), parts[2].strip(), parts[3].strip()
        symbol = re.sub(r"^\[\.\]\s*|^\[k\]\s*", "", symbol)
        rows.append((share, thread_of(comm), dso, symbol))

    threads = ["calling thread", "kernel workers", "runtime threads"]
    by_thread = collections.OrderedDict((name, collections.defaultdict(float)) for name, _ in GROUPS + [("other", None)])
    for share, thread, dso, symbol in rows:
        key = f"{dso}|{symbol}"
        for name, pattern in GROUPS:
            if re.search(pattern, key):
                break
        else:
            name = "other"
        by_thread[name][thread] += share
    groups = {name: sum(shares.values()) for name, shares in by_thread.items()}

    print(run.stdout.strip())
    print(f"load average before {' '.join(load_before)}, after {' '.join(load_after)}; samples of the last {args.keep}% of the run")
    print()
    print("| where | share of CPU samples |")
    print("|---|---:|")
    for name, share in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {share:.1f} % |")
    print()
    print("| where | " + " | ".join(threads) + " |")
    print("|---|" + "---:|" * len(threads))
    for name, share in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | " + " | ".join(f"{by_thread[name][t]:.1f} %" for t in threads) + " |")
    print("| all | " + " | ".join(f"{sum(by_thread[n][t] for n in groups):.1f} %" for t in threads) + " |")
    print()
    print(f"top {args.top} methods:")
    merged = collections.defaultdict(float)
    for share, _, dso, symbol in rows:
        merged[(dso, symbol)] += share
    for (dso, symbol), share in sorted(merged.items(), key=lambda kv: -kv[1])[: args.top]:
        name = re.sub(r"\(.*", "", symbol.split("]", 1)[-1].strip()) if "[" in symbol else symbol
        print(f"  {share:5.1f} %  {name}  ({dso.split()[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
