#!/usr/bin/env python3
"""RnnCore on a busy machine: the training step with the default threading against one thread, and the main job
(samples/CharRnn), quiet and with other processes keeping every core busy.

Run from the repository root:
    /usr/bin/python3 benchmarks/compare_loaded.py [--configs S,M,L] [--rounds 5] [--iters 20] [--spinners 2]
                                                  [--cell rnn|lstm|gru] [--charrnn-epochs 1] [--baseline-bin PATH]
                                                  [--no-quiet] [--nice -10]

Each round has a quiet phase and a loaded phase. The loaded phase starts --spinners processes (default: one per core)
that each spin a Python loop and stop by themselves after --spin-seconds at most (they are also ended when the phase
ends), then, config by config, times RnnCore's `--peer-step` (benchmarks/RnnCore.Benchmarks/PeerStep.cs) with the
default threading (RnnCoreSettings.MaxDegreeOfParallelism = ProcessorCount) and with `--threads 1`, in alternating
order from round to round, and runs CharRnn for --charrnn-epochs epochs. The quiet phase runs the same without the
spinners (skip it with --no-quiet). --baseline-bin adds the same runs of another build's RnnCore.Benchmarks (for a
before/after pair in the same rounds). The tables give medians over rounds of each run's median step time and the
median of the per-round ratios. Each run's /proc/loadavg is recorded: "quiet" means only "no spinners of ours", and
the load average says how busy the machine was. Nothing here is a test: timings are never asserted.
"""
import argparse, datetime, os, re, signal, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
MEDIAN = re.compile(r"^(\w+)(?: \w+)?: .*median ([0-9.]+) ms", re.M)
CHARS = re.compile(r"updates in ([0-9.]+) s \(([0-9,]+) characters/s\)")
# A spinner stops by itself after its time, or as soon as this script is gone (its parent changes).
SPIN = ("import os, sys, time\nend = time.time() + float(sys.argv[1])\nparent = os.getppid()\nx = 0\n"
        "while time.time() < end and os.getppid() == parent:\n    for _ in range(20000):\n        x += 1\n")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def one_minute(load):
    return float(load.split()[0])


def run(cmd, env=None):
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


class Spinners:
    """Processes that keep the cores busy; each ends by itself after `seconds`, and all are ended on exit."""

    def __init__(self, count, seconds):
        self.count, self.seconds, self.processes = count, seconds, []

    def __enter__(self):
        self.processes = [subprocess.Popen([PYTHON, "-c", SPIN, str(self.seconds)])
                          for _ in range(self.count)]
        time.sleep(1.0)  # let the scheduler see them as running before anything is timed
        return self

    def __exit__(self, *exc):
        for p in self.processes:
            p.terminate()
        for p in self.processes:
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default="S,M,L")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--spinners", type=int, default=os.cpu_count())
    ap.add_argument("--spin-seconds", type=float, default=600, help="upper bound of each loaded phase's spinners")
    ap.add_argument("--charrnn-epochs", type=int, default=1, help="0: skip the main job")
    ap.add_argument("--baseline-bin", help="another build's RnnCore.Benchmarks, timed in the same rounds")
    ap.add_argument("--cell", default="rnn", choices=["rnn", "lstm", "gru"], help="the step's cell, as in --peer-step")
    ap.add_argument("--no-quiet", action="store_true")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--nice", type=int, default=0,
                    help="niceness of this script's scheduling group (Linux autogroup: the session), e.g. -10 on a machine "
                         "shared with other work, so that the load beside RnnCore is mostly the spinners; run the script "
                         "under setsid, so the group is its own (needs root)")
    a = ap.parse_args()
    if a.nice:
        # With autogroup scheduling, the kernel shares the CPU between sessions first, so a process's own niceness
        # only ranks it within its session; the session's niceness ranks it against other people's work.
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(a.nice))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the spinners are ended on the way out
    configs = a.configs.split(",")

    if not a.no_build:
        print("building RnnCore.Benchmarks and CharRnn (Release)...", flush=True)
        for project in (os.path.join("benchmarks", "RnnCore.Benchmarks"), os.path.join("samples", "CharRnn")):
            subprocess.run(["dotnet", "build", os.path.join(ROOT, project), "-c", "Release", "-v", "q", "-nologo"],
                           check=True, stdout=subprocess.DEVNULL)
    ours = os.path.join(ROOT, "benchmarks", "RnnCore.Benchmarks", "bin", "Release", "net10.0", "RnnCore.Benchmarks")
    charrnn = os.path.join(ROOT, "samples", "CharRnn", "bin", "Release", "net10.0", "CharRnn")
    builds = {"": ours}
    if a.baseline_bin:
        builds["baseline "] = a.baseline_bin
    threads = {"default": [], "threads 1": ["--threads", "1"]}
    phases = (["quiet"] if not a.no_quiet else []) + ["loaded"]

    # samples[phase][label][config] = [per-round medians]; loads[phase] = [load averages]
    samples = {p: {} for p in phases}
    chars = {p: [] for p in phases}
    loads = {p: [] for p in phases}
    out = tempfile.mkdtemp(prefix="charrnn-")
    start = datetime.datetime.now(datetime.timezone.utc)
    for r in range(a.rounds):
        for phase in phases:
            spin = Spinners(a.spinners if phase == "loaded" else 0, a.spin_seconds)
            with spin:
                order = list(threads.items()) if r % 2 == 0 else list(reversed(threads.items()))
                for c in configs:
                    for build_name, binary in (builds.items() if r % 2 == 0 else reversed(builds.items())):
                        for t, flags in order:
                            label = f"{build_name}{t}"
                            loads[phase].append(loadavg())
                            stdout = run([binary, "--peer-step", "--iters", str(a.iters), "--configs", c, "--cell", a.cell] + flags)
                            median = float(dict((m.group(1), m.group(2)) for m in MEDIAN.finditer(stdout))[c])
                            samples[phase].setdefault(label, {}).setdefault(c, []).append(median)
                            print(f"round {r + 1} {phase} {c} {label}: {median:.3f} ms (load {loads[phase][-1]})", flush=True)
                if a.charrnn_epochs > 0:
                    loads[phase].append(loadavg())
                    stdout = run([charrnn, "--epochs", str(a.charrnn_epochs), "--output", out, "--sample-every", "0"])
                    m = CHARS.search(stdout)
                    chars[phase].append(float(m.group(2).replace(",", "")))
                    print(f"round {r + 1} {phase} CharRnn: {m.group(0)} (load {loads[phase][-1]})", flush=True)

    end = datetime.datetime.now(datetime.timezone.utc)
    print()
    print(f"{start:%Y-%m-%d %H:%M}-{end:%H:%M} UTC, {os.cpu_count()} cores, float32 {a.cell} step; {a.rounds} rounds, "
          f"each tool's median of {a.iters} steps; loaded = {a.spinners} spinning processes beside it"
          f"{f', its session (autogroup) at niceness {a.nice:+d}' if a.nice else ''}; command: setsid "
          f"/usr/bin/python3 benchmarks/compare_loaded.py {' '.join(sys.argv[1:])}")
    for phase in phases:
        print()
        print(f"{phase}: load average over its runs {min(loads[phase], key=one_minute)} … {max(loads[phase], key=one_minute)} (1, 5, 15 min)")
        print()
        labels = list(samples[phase])
        print("| config | " + " | ".join(f"{l} (ms)" for l in labels) + " | default / threads 1 (median of per-round ratios, range)"
              + (" | default / baseline default | threads 1 / baseline threads 1" if a.baseline_bin else "") + " |")
        print("|---|" + "---|" * (len(labels) + (3 if a.baseline_bin else 1)))
        for c in configs:
            def ratio(x, y):
                rs = [p / q for p, q in zip(samples[phase][x][c], samples[phase][y][c])]
                return f"{statistics.median(rs):.2f} ({min(rs):.2f}-{max(rs):.2f})"
            cells = [f"{statistics.median(samples[phase][l][c]):.3g}" for l in labels]
            extra = [ratio("default", "baseline default"), ratio("threads 1", "baseline threads 1")] if a.baseline_bin else []
            print(f"| {c} | " + " | ".join(cells) + f" | {ratio('default', 'threads 1')} | " + " | ".join(extra) + ("" if not extra else " |"))
    if a.charrnn_epochs > 0:
        print()
        print(f"CharRnn --epochs {a.charrnn_epochs}, characters/s per round: " +
              "; ".join(f"{p} {', '.join(f'{x:,.0f}' for x in chars[p])}" for p in phases))
        if "quiet" in phases:
            rs = [l / q for q, l in zip(chars["quiet"], chars["loaded"])]
            print(f"loaded / quiet: median {statistics.median(rs):.2f} (per-round {', '.join(f'{x:.2f}' for x in rs)}); "
                  f"medians {statistics.median(chars['quiet']):,.0f} quiet, {statistics.median(chars['loaded']):,.0f} loaded")


if __name__ == "__main__":
    main()
