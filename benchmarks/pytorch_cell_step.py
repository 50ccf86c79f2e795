#!/usr/bin/env python3
"""Time one step of one stream (B = 1) through PyTorch's cells, the peer of StreamStepBenchmarks.cs.

One step = nn.RNNCell (tanh) / nn.LSTMCell / nn.GRUCell on one input with the state carried, then the head
(nn.Linear to O, softmax), under torch.inference_mode(), with the same sizes as the C# benchmark: I = 64, O = 16,
H = 64, 256, 1024, float32.

Needs PyTorch for the system Python (Debian: apt-get install -y python3-torch). Run from the repository root:
    /usr/bin/python3 benchmarks/pytorch_cell_step.py [--threads 1] [--sizes 64,256,1024] [--repeats 7] [--seconds 0.3]
Prints one line per cell and size: the median and min microseconds per step over --repeats timed runs of about
--seconds each (after a warm-up run). Nothing is asserted.
"""
import argparse, statistics, time
import torch

I, O = 64, 16


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sizes", default="64,256,1024")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=0.3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, float32, B = 1, I = {I}, O = {O}")
    for name, make in (("vanilla", lambda h: torch.nn.RNNCell(I, h, nonlinearity="tanh")),
                       ("lstm", lambda h: torch.nn.LSTMCell(I, h)),
                       ("gru", lambda h: torch.nn.GRUCell(I, h))):
        for h in (int(s) for s in a.sizes.split(",")):
            torch.manual_seed(0)
            cell, head = make(h), torch.nn.Linear(h, O)
            x = torch.randn(1, I)
            state = (torch.zeros(1, h), torch.zeros(1, h)) if name == "lstm" else torch.zeros(1, h)

            def step(state):
                state = cell(x, state)
                y = torch.softmax(head(state[0] if name == "lstm" else state), dim=-1)
                return state, y

            with torch.inference_mode():
                # Calibrate the number of steps per timed run to about --seconds.
                n, t0 = 0, time.perf_counter()
                while time.perf_counter() - t0 < a.seconds:
                    state, _ = step(state)
                    n += 1
                times = []
                for _ in range(a.repeats):
                    t0 = time.perf_counter()
                    for _ in range(n):
                        state, _ = step(state)
                    times.append((time.perf_counter() - t0) / n * 1e6)
            print(f"{name} H={h}: median {statistics.median(times):.2f} us, min {min(times):.2f} us per step ({n} steps per run)")


if __name__ == "__main__":
    main()
