using System.Numerics;

namespace RnnCore.Kernels;

/// <summary>
/// General matrix multiply on column-major storage, the shape every product of the forward pass and of BPTT takes:
/// <c>C = alpha · op(A) · op(B) + beta · C</c>, where <c>op(X)</c> is <c>X</c> or <c>Xᵀ</c>.
/// </summary>
/// <remarks>
/// <para>
/// Conventions are BLAS's <c>?gemm</c>: <c>op(A)</c> is m x k, <c>op(B)</c> is k x n, <c>C</c> is m x n; element (i, j) of a
/// stored matrix X lives at <c>x[i + j * ldx]</c>, where the leading dimension <c>ldx</c> is the stored matrix's row count
/// (or more, for a sub-block). MathNet's dense storage is exactly this layout with <c>ld = RowCount</c>.
/// When <c>beta</c> is zero, C is overwritten without being read (so NaN garbage in C does not leak).
/// The variants the RNN needs: forward <c>a = Wx·x</c> (NN), weight gradients <c>dW += δ·hᵀ</c> (NT) and the backward
/// of a product <c>dh = Wᵀ·δ</c> (TN).
/// </para>
/// <para>
/// The work: operands packed into panels (<see cref="GemmPacking"/>), a cache-blocked loop nest
/// (<see cref="GemmBlocking"/>) and a register-blocked FMA tile (<see cref="GemmMicroKernel"/>). A product of at least
/// <see cref="ParallelFlops"/> is split between up to <see cref="KernelParallelism.Current"/> threads along
/// the tile grid, which leaves every element's arithmetic, and so the result, unchanged. <see cref="GemmReference"/> is
/// the scalar triple loop the tests compare with. A product with one column (n = 1) goes to <see cref="Gemv"/> instead,
/// which forms each element the same way without packing anything.
/// </para>
/// </remarks>
internal static unsafe class Gemm
{
    /// <summary>Floating-point operations (2·m·n·k) per extra thread below which a product stays on one thread.</summary>
    internal const double ParallelFlops = 1 << 21;

    /// <summary>The smallest part (floating-point operations) of a split product whose parts duplicate no packing.</summary>
    private const double PartFlops = 1 << 19;

    /// <summary>The narrowest part (rows or columns) of a split product whose parts each pack the other operand.</summary>
    private const int PartExtent = 512;

    /// <summary>At most this many parts per thread where each part packs the other operand.</summary>
    private const int PartsPerThread = 4;

    /// <summary>C = alpha · op(A) · op(B) + beta · C (column-major).</summary>
    public static void Multiply<T>(
        bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        GemmBlocking.RequireOperand(transposeA, m, k, a.Length, lda, nameof(a));
        GemmBlocking.RequireOperand(transposeB, k, n, b.Length, ldb, nameof(b));
        GemmBlocking.RequireOperand(false, m, n, c.Length, ldc, nameof(c));
        fixed (T* pa = a, pb = b, pc = c)
        {
            var job = new Job<T>(GemmMicroKernel.Current, transposeA, transposeB, m, n, k, alpha, pa, lda, null, 0, pb, ldb, beta, pc, ldc);
            Run(&job);
        }
    }

    /// <summary>
    /// C = alpha · op(A) · op(B) + beta · C with op(A) already packed (m = a.Rows, k = a.Depth): the recurrence's product
    /// with the weights that every step shares.
    /// </summary>
    public static void Multiply<T>(
        PackedMatrix<T> a, bool transposeB, int n,
        T alpha, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = a.Rows;
        int k = a.Depth;
        GemmBlocking.RequireOperand(transposeB, k, n, b.Length, ldb, nameof(b));
        GemmBlocking.RequireOperand(false, m, n, c.Length, ldc, nameof(c));
        fixed (T* pb = b, pc = c)
        {
            var job = new Job<T>(a.Path, false, transposeB, m, n, k, alpha, null, m, a.Data, a.RoundedRows, pb, ldb, beta, pc, ldc);
            Run(&job);
        }
    }

    /// <summary>
    /// C = f(alpha · op(A) · op(B) + beta · C) with op(A) already packed (m = a.Rows, k = a.Depth), where f is the
    /// caller's <paramref name="epilogue"/>. Each thread checks the columns it has just computed for NaN and infinity and
    /// then applies f to them, while they are still in its cache. <paramref name="epilogue"/> must be a local variable of
    /// the caller (its address is handed to the worker threads for the duration of the call).
    /// </summary>
    /// <returns>The index in <paramref name="c"/> of the first element that was NaN or infinite before f, or −1.</returns>
    public static long Multiply<T, TEpilogue>(
        PackedMatrix<T> a, bool transposeB, int n,
        T alpha, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc, ref TEpilogue epilogue)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TEpilogue : struct, IGemmEpilogue<T>
    {
        int m = a.Rows;
        int k = a.Depth;
        GemmBlocking.RequireOperand(transposeB, k, n, b.Length, ldb, nameof(b));
        GemmBlocking.RequireOperand(false, m, n, c.Length, ldc, nameof(c));
        fixed (T* pb = b, pc = c)
        {
            // The epilogue is the caller's local (on its stack for the whole call), so its address stays valid while the
            // parts run; the trampoline turns it back into a typed reference on each worker.
            var job = new Job<T>(a.Path, false, transposeB, m, n, k, alpha, null, m, a.Data, a.RoundedRows, pb, ldb, beta, pc, ldc)
            {
                Epilogue = System.Runtime.CompilerServices.Unsafe.AsPointer(ref epilogue),
                EpilogueFunction = &InvokeEpilogue<T, TEpilogue>,
            };
            Run(&job);
            return job.FirstNonFinite == long.MaxValue ? -1 : job.FirstNonFinite;
        }
    }

    private static void InvokeEpilogue<T, TEpilogue>(void* epilogue, Span<T> block, int firstColumn, int columnCount)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TEpilogue : struct, IGemmEpilogue<T>
        => System.Runtime.CompilerServices.Unsafe.AsRef<TEpilogue>(epilogue).Apply(block, firstColumn, columnCount);

    private static void Run<T>(Job<T>* job)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (job->M == 0 || job->N == 0)
        {
            return;
        }

        if (job->K == 0)
        {
            // op(A)·op(B) is the zero matrix: C = beta · C (without reading C when beta = 0).
            for (int j = 0; j < job->N; j++)
            {
                Span<T> column = new(job->C + ((long)j * job->Ldc), job->M);
                if (job->Beta == T.Zero)
                {
                    column.Clear();
                }
                else
                {
                    for (int i = 0; i < column.Length; i++)
                    {
                        column[i] *= job->Beta;
                    }
                }
            }

            ApplyEpilogue(job, 0, job->N);
            return;
        }

        Plan(job);

        // The epilogue runs inside each part only when every part owns whole columns (one contiguous span each); a
        // split along rows applies it afterwards, over whole columns, so f never sees a different span for another split.
        delegate*<void*, Span<T>, int, int, void> epilogue = job->EpilogueFunction;
        bool fused = job->AlongColumns || job->Parts == 1;
        if (!fused)
        {
            job->EpilogueFunction = null;
        }

        KernelWorkers.Run(&RunPart<T>, job, job->Parts, job->Threads);
        if (!fused)
        {
            job->EpilogueFunction = epilogue;
            ApplyEpilogue(job, 0, job->N);
        }
    }

    /// <summary>Checks columns [j0, j1) of C for NaN and infinity (recording the first), then applies the caller's f to them in place.</summary>
    private static void ApplyEpilogue<T>(Job<T>* job, int j0, int j1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (job->EpilogueFunction == null || j0 >= j1)
        {
            return;
        }

        // Whole columns at ld = m form one span; otherwise column by column.
        int spans = job->Ldc == job->M ? 1 : j1 - j0;
        int spanLength = job->Ldc == job->M ? job->M * (j1 - j0) : job->M;
        for (int s = 0; s < spans; s++)
        {
            long start = ((long)(j0 + s) * job->Ldc);
            var block = new Span<T>(job->C + start, spanLength);
            int bad = Internal.Guard.IndexOfNonFinite<T>(block);
            if (bad >= 0)
            {
                RecordNonFinite(job, start + bad);
            }

            job->EpilogueFunction(job->Epilogue, block, job->Ldc == job->M ? j0 : j0 + s, job->Ldc == job->M ? j1 - j0 : 1);
        }
    }

    private static void RecordNonFinite<T>(Job<T>* job, long index)
        where T : unmanaged
    {
        long current = Volatile.Read(ref job->FirstNonFinite);
        while (index < current)
        {
            long seen = Interlocked.CompareExchange(ref job->FirstNonFinite, index, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>
    /// How many threads, along which dimension, and in how many parts. The dimension is the one whose duplicated
    /// packing costs less (every part packs the whole of the other operand), as long as it has at least one tile per
    /// thread. The parts are claimed one at a time by whichever thread is free (<see cref="KernelWorkers"/>), so on a
    /// busy machine a thread that is descheduled holds up at most its current part, and a worker that starts late takes
    /// a smaller share. Where a part packs nothing it would not pack anyway (op(A) packed once, split along columns),
    /// parts go down to one tile of at least <see cref="PartFlops"/>; otherwise a part is at least
    /// <see cref="PartExtent"/> rows or columns wide, at most <see cref="PartsPerThread"/> per thread, so the duplicated
    /// packing stays small beside the part's arithmetic. Parts fall on tile boundaries, so the bits stay the same.
    /// </summary>
    private static void Plan<T>(Job<T>* job)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mr = GemmMicroKernel.Rows<T>(job->Path);
        int nr = GemmMicroKernel.Columns(job->Path);
        int rowTiles = (job->M + mr - 1) / mr;
        int columnTiles = (job->N + nr - 1) / nr;
        double flops = 2.0 * job->M * job->N * job->K;
        int threads = (int)Math.Min(KernelParallelism.Current, Math.Max(1, flops / ParallelFlops));
        // Columns are preferred when A is already packed (no part packs it) or when A is the smaller operand.
        bool preferColumns = job->PackedA is not null || job->M <= job->N;
        int preferredTiles = preferColumns ? columnTiles : rowTiles;
        int otherTiles = preferColumns ? rowTiles : columnTiles;
        bool keepPreferred = preferredTiles >= threads || preferredTiles >= otherTiles;
        bool alongColumns = preferColumns == keepPreferred;
        job->AlongColumns = alongColumns;
        job->Tiles = alongColumns ? columnTiles : rowTiles;
        job->Threads = Math.Min(threads, job->Tiles);
        int parts = job->Threads;
        if (parts > 1)
        {
            parts = job->PackedA is not null && alongColumns
                ? (int)Math.Max(parts, Math.Min(job->Tiles, flops / PartFlops))
                : Math.Max(parts, Math.Min(parts * PartsPerThread, Math.Min(job->Tiles, (alongColumns ? job->N : job->M) / PartExtent)));
        }

        job->Parts = parts;
    }

    private static void RunPart<T>(void* state, int part)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Job<T>* job = (Job<T>*)state;
        int tileSize = job->AlongColumns ? GemmMicroKernel.Columns(job->Path) : GemmMicroKernel.Rows<T>(job->Path);
        int extent = job->AlongColumns ? job->N : job->M;
        int start = (int)((long)job->Tiles * part / job->Parts) * tileSize;
        int end = Math.Min(extent, (int)((long)job->Tiles * (part + 1) / job->Parts) * tileSize);
        if (start >= end)
        {
            return;
        }

        (int i0, int i1, int j0, int j1) = job->AlongColumns ? (0, job->M, start, end) : (start, end, 0, job->N);
        if (job->N == 1 && (job->PackedA is not null || !job->TransposeA))
        {
            // One column (a step of one stream, a batch of one): A and x read where they lie, the same sums (Gemv).
            Gemv.Multiply(
                job->Path, job->K, job->Alpha, job->A, job->Lda, job->PackedA, job->PackedRows,
                job->B, job->TransposeB ? job->Ldb : 1, job->Beta, job->C, i0, i1);
            ApplyEpilogue(job, j0, j1);
            return;
        }

        GemmBlocking.Run(
            job->Path, job->TransposeA, job->TransposeB, job->K,
            job->Alpha, job->A, job->Lda, job->PackedA, job->PackedRows, job->B, job->Ldb,
            job->Beta, job->C, job->Ldc, i0, i1, j0, j1);
        ApplyEpilogue(job, j0, j1);
    }

    /// <summary>One product's description, on the caller's stack while its parts run.</summary>
    private struct Job<T>(
        GemmPath path, bool transposeA, bool transposeB, int m, int n, int k,
        T alpha, T* a, int lda, T* packedA, int packedRows, T* b, int ldb,
        T beta, T* c, int ldc)
        where T : unmanaged
    {
        public readonly GemmPath Path = path;
        public readonly bool TransposeA = transposeA;
        public readonly bool TransposeB = transposeB;
        public readonly int M = m;
        public readonly int N = n;
        public readonly int K = k;
        public readonly T Alpha = alpha;
        public readonly T* A = a;
        public readonly int Lda = lda;
        public readonly T* PackedA = packedA;
        public readonly int PackedRows = packedRows;
        public readonly T* B = b;
        public readonly int Ldb = ldb;
        public readonly T Beta = beta;
        public readonly T* C = c;
        public readonly int Ldc = ldc;
        public bool AlongColumns;
        public int Tiles;
        public int Parts;
        public int Threads;
        public void* Epilogue;
        public delegate*<void*, Span<T>, int, int, void> EpilogueFunction;
        public long FirstNonFinite = long.MaxValue;
    }
}
