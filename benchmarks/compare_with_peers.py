#!/usr/bin/env python3
"""Side-by-side medians of one recurrent training step: RnnCore vs PyTorch vs TorchSharp vs numpy (hoisted), in one session.

Run from the repository root:
    /usr/bin/python3 benchmarks/compare_with_peers.py [--configs S,M,L,XL] [--rounds 3] [--iters 20]
                                                     [--cell rnn|lstm|gru] [--layers N] [--bidirectional]
                                                     [--skip-torchsharp]

--cell, --layers and --bidirectional are passed to RnnCore's --peer-step and to pytorch_rnn_step.py alike (the same
model: nn.RNN tanh / nn.LSTM / nn.GRU, N layers, one or two directions). The numpy peer exists for the one-layer
vanilla RNN only and is skipped otherwise.

Each round runs, config by config, RnnCore's `--peer-step` mode (benchmarks/RnnCore.Benchmarks/PeerStep.cs),
../shared/peers/pytorch_rnn_step.py --threads 1, ../shared/peers/torchsharp/run.sh --threads 1 and --threads 2 (the same
step on TorchSharp / LibTorch; its first run restores and builds it) and ../shared/peers/numpy_rnn_step.py --variants
hoisted, interleaved so that the machine's noise falls on all of them alike; the table gives the median over rounds of each tool's median step
time and the ratios peer / RnnCore (above 1: RnnCore is faster). The peers' folder is $RNNCORE_PEERS_DIR, else
../shared/peers beside the repository; a peer that is missing or whose Python lacks torch / numpy is skipped with a
message. All runs are float32, as the peers are.
"""
import argparse, datetime, os, platform, re, shutil, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.environ.get("RNNCORE_PEERS_DIR", os.path.join(os.path.dirname(ROOT), "shared", "peers"))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
MEDIAN = re.compile(r"^(\w+)(?: \w+)?: .*median ([0-9.]+) ms", re.M)


def run(cmd, env=None):
    """Runs one tool on one config: its medians by config name, and the peak RSS of its process in MiB (ru_maxrss)."""
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
        stdout = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)  # reaped here, with its own rusage (Linux: maxrss in KiB)
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stdout.close()
        if process.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{errors.read()[-2000:]}")
    medians = {m.group(1): float(m.group(2)) for m in MEDIAN.finditer(stdout)}
    return medians, usage.ru_maxrss / 1024


def has_module(module):
    return subprocess.run([PYTHON, "-c", f"import {module}"], capture_output=True).returncode == 0


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="S,M,L,XL")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--cell", default="rnn", choices=["rnn", "lstm", "gru"])
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--bidirectional", action="store_true")
    ap.add_argument("--skip-torchsharp", action="store_true")
    a = ap.parse_args()
    model = ["--cell", a.cell, "--layers", str(a.layers)] + (["--bidirectional"] if a.bidirectional else [])
    vanilla = a.cell == "rnn" and a.layers == 1 and not a.bidirectional
    configs = a.configs.split(",")

    print("building RnnCore.Benchmarks (Release)...", flush=True)
    subprocess.run(["dotnet", "build", os.path.join(ROOT, "benchmarks", "RnnCore.Benchmarks"), "-c", "Release", "-v", "q", "-nologo"],
                   check=True, stdout=subprocess.DEVNULL)
    # The built program itself (not `dotnet run`), so that the peak RSS measured is the step's process alone.
    ours = [os.path.join(ROOT, "benchmarks", "RnnCore.Benchmarks", "bin", "Release", "net10.0", "RnnCore.Benchmarks"),
            "--peer-step", "--iters", str(a.iters)] + model
    tools = {"RnnCore": lambda c: run(ours + ["--configs", c])}

    # OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, where this workplace sets them, slow a current OpenBLAS. Both peers run on
    # Debian's OpenBLAS, so both run without them, alike.
    peer_env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}

    torch_script = os.path.join(PEERS, "pytorch_rnn_step.py")
    if not os.path.exists(torch_script):
        print(f"PyTorch peer skipped: {torch_script} not found (set RNNCORE_PEERS_DIR).")
    elif not has_module("torch"):
        print(f"PyTorch peer skipped: {PYTHON} cannot import torch (Debian: apt-get install -y python3-torch).")
    else:
        tools["PyTorch --threads 1"] = lambda c: run([PYTHON, torch_script, "--threads", "1", "--iters", str(a.iters), "--configs", c] + model, peer_env)

    # TorchSharp (LibTorch with MKL and oneDNN, what a .NET user would otherwise bind), at 1 and 2 threads: its run.sh
    # restores and builds it on first use (about 300 MB downloaded), outside this repository.
    torchsharp = os.path.join(PEERS, "torchsharp", "run.sh")
    if a.skip_torchsharp:
        print("TorchSharp peer skipped (--skip-torchsharp).")
    elif not os.path.exists(torchsharp):
        print(f"TorchSharp peer skipped: {torchsharp} not found (set RNNCORE_PEERS_DIR).")
    else:
        for threads in ("1", "2"):
            tools[f"TorchSharp --threads {threads}"] = (
                lambda c, threads=threads: run(["bash", torchsharp, "--threads", threads, "--iters", str(a.iters), "--configs", c] + model, peer_env))

    numpy_script = os.path.join(PEERS, "numpy_rnn_step.py")
    if not vanilla:
        print("numpy peer skipped: it implements the one-layer vanilla RNN only.")
    elif not os.path.exists(numpy_script):
        print(f"numpy peer skipped: {numpy_script} not found (set RNNCORE_PEERS_DIR).")
    elif not has_module("numpy"):
        print(f"numpy peer skipped: {PYTHON} cannot import numpy (Debian: apt-get install -y python3-numpy).")
    else:
        tools["numpy hoisted"] = lambda c: run([PYTHON, numpy_script, "--variants", "hoisted", "--iters", str(a.iters), "--configs", c], peer_env)

    samples = {t: {c: [] for c in configs} for t in tools}
    peaks = {t: {c: [] for c in configs} for t in tools}
    for r in range(a.rounds):
        for c in configs:
            for t, f in tools.items():
                medians, peak = f(c)
                samples[t][c].append(medians[c])
                peaks[t][c].append(peak)
        print(f"round {r + 1}/{a.rounds} done", flush=True)

    med = {t: {c: statistics.median(v) for c, v in by.items()} for t, by in samples.items()}
    print()
    print(f"{datetime.date.today().isoformat()}, {cpu_name()}, {os.cpu_count()} cores, float32; medians over {a.rounds} interleaved rounds "
          f"of each tool's median of {a.iters} steps; model {a.cell} x{a.layers}{' bidirectional' if a.bidirectional else ''}; "
          f"command: /usr/bin/python3 benchmarks/compare_with_peers.py --configs {a.configs} --rounds {a.rounds} --iters {a.iters} "
          f"{' '.join(model)}; load average {open('/proc/loadavg').read().split()[:3]} at the end")
    print()
    header = "| config (I, H, O, T, B) | " + " | ".join(f"{t} (ms)" for t in tools) + " | " + \
             " | ".join(f"{t} / RnnCore" for t in tools if t != "RnnCore") + " |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    sizes = {"S": "65, 100, 65, 25, 1", "M": "64, 256, 64, 64, 32", "L": "128, 512, 128, 128, 64", "XL": "256, 1024, 256, 64, 128"}
    for c in configs:
        cells = [f"{med[t][c]:.3g}" for t in tools]
        ratios = [f"{med[t][c] / med['RnnCore'][c]:.2f}x" for t in tools if t != "RnnCore"]
        print(f"| {c} ({sizes.get(c, '?')}) | " + " | ".join(cells) + (" | " + " | ".join(ratios) if ratios else "") + " |")
    print()
    print("Peak RSS of each tool's whole process (MiB, largest over the rounds; ru_maxrss of a process timing one config):")
    print()
    print("| config | " + " | ".join(tools) + " |")
    print("|---|" + "---|" * len(tools))
    for c in configs:
        print(f"| {c} | " + " | ".join(f"{max(peaks[t][c]):.0f}" for t in tools) + " |")


if __name__ == "__main__":
    main()
