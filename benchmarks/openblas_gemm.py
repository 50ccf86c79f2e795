#!/usr/bin/env python3
"""OpenBLAS sgemm/dgemm GFLOP/s on the products of the vanilla training step, for the GEMM table against RnnCore.

The shapes are GemmShape.All in benchmarks/RnnCore.Benchmarks/GemmBenchmarks.cs (two squares and, for the M, L and XL
configs, the eight products of one step: NN, NT and TN). RnnCore multiplies column-major C (m x n) = op(A) op(B); here the
same product runs on row-major arrays as C' = op(B)' op(A)', with transposed operands passed as views, so OpenBLAS sees
the same transpose flags (no copies). Timing as ../shared/peers/openblas_sgemm.py: median of 7 batches after 2 warm-ups.

Run: /usr/bin/python3 benchmarks/openblas_gemm.py [--threads 1] [--dtype float32]
It sets OPENBLAS_NUM_THREADS and unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (which some machines set, and which slow
OpenBLAS) before numpy loads, and prints which OpenBLAS core it runs on.
"""
import argparse, ctypes, os, statistics, sys, time

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
parser.add_argument("--filter", default="", help="comma-separated words; only shapes whose names contain one")
args = parser.parse_args()
os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
for variable in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(variable, None)

import numpy as np  # noqa: E402  (after the environment is set)

CONFIGS = {"M": (64, 256, 64, 64, 32), "L": (128, 512, 128, 128, 64), "XL": (256, 1024, 256, 64, 128)}  # I, H, O, T, B


def step_shapes(name, i, h, o, t, b):
    """The step's eight products as GemmShape.ForStep lists them; BPTT's four over one time chunk of about 1024 columns
    (TimeChunks: T·B // 1024 chunks, at least one; the first chunk's steps)."""
    tb = t * b
    chunks = max(1, min(t, tb // 1024))
    chunk = (t // chunks) * b
    return [(f"{name}: Wx·X", h, tb, i, False, False), (f"{name}: Wh·h", h, b, h, False, False),
            (f"{name}: Wy·H", o, tb, h, False, False), (f"{name}: dWy=dZ·Hᵀ", o, h, chunk, False, True),
            (f"{name}: Wyᵀ·dZ", h, chunk, o, True, False), (f"{name}: Whᵀ·δ", h, b, h, True, False),
            (f"{name}: dWx=Δ·Xᵀ", h, i, chunk, False, True), (f"{name}: dWh=Δ·Hᵀ", h, h, chunk, False, True)]


SHAPES = [("square 256", 256, 256, 256, False, False), ("square 1024", 1024, 1024, 1024, False, False)]
for config, sizes in CONFIGS.items():
    SHAPES += step_shapes(config, *sizes)


def core_name():
    """The OpenBLAS kernel set in use (Haswell, SkylakeX, Cooperlake, ...), or why it is unknown."""
    for candidate in ("libopenblas.so.0", "libblas.so.3"):
        try:
            lib = ctypes.CDLL(candidate)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return "unknown (no OpenBLAS found: numpy may run on the reference BLAS)"


dtype = np.float32 if args.dtype == "float32" else np.float64
words = [w for w in args.filter.split(",") if w]
rng = np.random.default_rng(0)
print(f"OpenBLAS core {core_name()}, threads {args.threads}, {args.dtype}, numpy {np.__version__}")
for name, m, n, k, ta, tb in SHAPES:
    if words and not any(w in name for w in words):
        continue
    # Row-major images of the column-major operands: stored A (m x k, or k x m when transposed) is the row-major
    # (k, m) or (m, k) array; op(A)' is that array or its transpose view. Likewise for B.
    a = (rng.random((m, k) if ta else (k, m)) - 0.5).astype(dtype)
    b = (rng.random((k, n) if tb else (n, k)) - 0.5).astype(dtype)
    op_a_t = a.T if ta else a
    op_b_t = b.T if tb else b
    c = np.empty((n, m), dtype)
    reps = max(3, int(2e9 / (2 * m * n * k)))
    for _ in range(2):
        np.matmul(op_b_t, op_a_t, out=c)
    times = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(reps):
            np.matmul(op_b_t, op_a_t, out=c)
        times.append((time.perf_counter() - start) / reps)
    median = statistics.median(times)
    print(f"{name} ({m}x{n}x{k}): {median * 1e6:.1f} us  {2 * m * n * k / median / 1e9:.1f} GFLOP/s")
