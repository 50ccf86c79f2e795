#!/usr/bin/env python3
"""Side-by-side GEMM GFLOP/s: RnnCore's kernel against OpenBLAS sgemm on every product of the vanilla training step.

Run from the repository root:
    /usr/bin/python3 benchmarks/compare_gemm.py [--rounds 3] [--threads 1,2] [--dtype float32] [--filter words]

Each round runs, for each thread count, benchmarks/openblas_gemm.py (numpy's OpenBLAS, with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE unset) and RnnCore.Benchmarks' `--gemm` mode (GemmTable.cs) one after the other, so the machine's noise
falls on both alike; the table gives the median over rounds of each tool's per-shape median, and RnnCore / OpenBLAS.
The shapes are GemmShape.All (GemmBenchmarks.cs): two squares and the eight products of the M, L and XL steps.
"""
import argparse, datetime, os, re, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
LINE = re.compile(r"^(.+?) \((\d+x\d+x\d+)\): [0-9.]+ us\s+([0-9.]+) GFLOP/s", re.M)
EXE = os.path.join(ROOT, "benchmarks", "RnnCore.Benchmarks", "bin", "Release", "net10.0", "RnnCore.Benchmarks")


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    first = out.stdout.splitlines()[0] if out.stdout else ""
    return first, {f"{m.group(1)} ({m.group(2)})": float(m.group(3)) for m in LINE.finditer(out.stdout)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--filter", default="")
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]

    print("building RnnCore.Benchmarks (Release)...", flush=True)
    subprocess.run(["dotnet", "build", os.path.join(ROOT, "benchmarks", "RnnCore.Benchmarks"), "-c", "Release", "-v", "q", "-nologo"],
                   check=True, stdout=subprocess.DEVNULL)
    extra = ["--dtype", a.dtype] + (["--filter", a.filter] if a.filter else [])
    results = {}  # (tool, threads) -> shape -> [GFLOP/s per round]
    headers = {}
    for r in range(a.rounds):
        for t in threads:
            for tool, cmd in (("OpenBLAS", [PYTHON, os.path.join(ROOT, "benchmarks", "openblas_gemm.py"), "--threads", str(t)]),
                              ("RnnCore", [EXE, "--gemm", "--threads", str(t)])):
                header, rates = run(cmd + extra)
                headers[tool] = header
                for shape, rate in rates.items():
                    results.setdefault((tool, t), {}).setdefault(shape, []).append(rate)
        print(f"round {r + 1}/{a.rounds} done", flush=True)

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
    print()
    print(f"{datetime.date.today()}, {cpu}, {os.cpu_count()} cores, {a.dtype}; GFLOP/s, medians over {a.rounds} rounds of "
          f"each tool's median of 7 batches; command: {PYTHON} benchmarks/compare_gemm.py --rounds {a.rounds} --threads {a.threads}"
          + (f" --dtype {a.dtype}" if a.dtype != "float32" else "") + (f" --filter '{a.filter}'" if a.filter else ""))
    for tool, header in headers.items():
        print(f"{tool}: {header}")
    print()
    columns = "".join(f" OpenBLAS {t}t | RnnCore {t}t | RnnCore / OpenBLAS {t}t |" for t in threads)
    print("| product (m x n x k) |" + columns)
    print("|---|" + "---|---|---|" * len(threads))
    for shape in results[("OpenBLAS", threads[0])]:
        row = f"| {shape} |"
        for t in threads:
            ob = statistics.median(results[("OpenBLAS", t)][shape])
            ours = statistics.median(results[("RnnCore", t)].get(shape, [float("nan")]))
            row += f" {ob:.1f} | {ours:.1f} | {ours / ob * 100:.0f} % |"
        print(row)


if __name__ == "__main__":
    main()
