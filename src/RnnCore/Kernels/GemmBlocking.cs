using System.Numerics;
using System.Runtime.CompilerServices;

namespace RnnCore.Kernels;

/// <summary>
/// The cache-blocked loop nest around the micro-kernel (the five loops of Goto and van de Geijn's GEMM): columns of C in
/// NC-blocks, the k dimension in KC-blocks (one packed op(B) panel each), rows in MC-blocks (one packed op(A) block
/// each), then NR x MR tiles.
/// </summary>
/// <remarks>
/// Block sizes keep each operand at the cache level that feeds it: a KC x NR strip of op(B) (8 KB on the 512-bit path)
/// in L1, the MC x KC block of op(A) (128 KB) in L2 (each MR x KC strip of it, 32 KB, streams through L1), the KC x NC
/// panel of op(B) (1.5 MB) in L2 and L3. Each op(B) strip is packed right before its first tiles, while the tiles that
/// follow can use it from L1.
/// The k blocks are the same for every part of a parallel split, and splits fall on tile boundaries, so the result of
/// each element does not depend on how the work was split.
/// </remarks>
internal static unsafe class GemmBlocking
{
    /// <summary>KC: the k-block, shared by both element types so that a packed op(A) fits either.</summary>
    public const int DepthBlock = 256;

    /// <summary>Products of at most this many row blocks (MC) read a full strip of a transposed op(B) in place.</summary>
    private const int DirectRowBlocks = 4;

    /// <summary>Products of at most this many NR-column strips read a plain op(A) in place.</summary>
    private const int DirectColumnStrips = 4;

    /// <summary>How many NR-column strips of op(B) are packed together, right before their tiles.</summary>
    private const int StripsPerPack = 4;

    /// <summary>MC for T: 128 KB of op(A) per block (128 floats or 64 doubles high).</summary>
    public static int RowBlock<T>()
        where T : unmanaged => Unsafe.SizeOf<T>() == sizeof(float) ? 128 : 64;

    /// <summary>NC for T: a 1.5 MB panel of op(B) (1536 floats or 768 doubles wide), a multiple of both paths' NR (8 and 6).</summary>
    public static int ColumnBlock<T>()
        where T : unmanaged => Unsafe.SizeOf<T>() == sizeof(float) ? 1536 : 768;

    /// <summary>x rounded up to a multiple of <paramref name="multiple"/>.</summary>
    public static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>Throws unless a stored operand of <paramref name="length"/> elements holds op(X), rows x columns with leading dimension ld.</summary>
    public static void RequireOperand(bool transposed, int rows, int columns, int length, int ld, string name)
    {
        int storedRows = transposed ? columns : rows;
        int storedColumns = transposed ? rows : columns;
        long needed = storedColumns == 0 || storedRows == 0 ? 0 : ((long)(storedColumns - 1) * ld) + storedRows;
        if (ld < Math.Max(1, storedRows) || length < needed)
        {
            throw new ArgumentException(
                $"{name} holds {length} elements with leading dimension {ld}, but a stored {storedRows} x {storedColumns} operand needs ld ≥ {storedRows} and {needed} elements.",
                name);
        }
    }

    /// <summary>
    /// C[i0..i1, j0..j1] = alpha · op(A) op(B) + beta · C over the whole k range. <paramref name="packedA"/>, when not
    /// null, holds all of op(A) in <see cref="PackedMatrix{T}"/> layout (with <paramref name="packedRows"/> rows after
    /// rounding) and <paramref name="a"/> is ignored; i0 and j0 lie on the tile grid.
    /// </summary>
    public static void Run<T>(
        GemmPath path, bool transposeA, bool transposeB, int k,
        T alpha, T* a, int lda, T* packedA, int packedRows, T* b, int ldb,
        T beta, T* c, int ldc,
        int i0, int i1, int j0, int j1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mr = GemmMicroKernel.Rows<T>(path);
        int nr = GemmMicroKernel.Columns(path);
        int mcMax = RowBlock<T>();
        int ncMax = ColumnBlock<T>();
        int kcMax = DepthBlock;

        PackBuffers<T> buffers = PackBuffers<T>.Rent(
            Math.Min(kcMax, k) * RoundUp(Math.Min(ncMax, j1 - j0), nr),
            packedA is null ? Math.Min(kcMax, k) * RoundUp(Math.Min(mcMax, i1 - i0), mr) : 0);
        try
        {
            RunBlocks(path, transposeA, transposeB, k, alpha, a, lda, packedA, packedRows, b, ldb, beta, c, ldc, i0, i1, j0, j1, buffers);
        }
        finally
        {
            PackBuffers<T>.Return(buffers);
        }
    }

    /// <summary>The loop nest of <see cref="Run{T}"/> with its packing buffers.</summary>
    private static void RunBlocks<T>(
        GemmPath path, bool transposeA, bool transposeB, int k,
        T alpha, T* a, int lda, T* packedA, int packedRows, T* b, int ldb,
        T beta, T* c, int ldc,
        int i0, int i1, int j0, int j1, PackBuffers<T> buffers)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mr = GemmMicroKernel.Rows<T>(path);
        int nr = GemmMicroKernel.Columns(path);
        int mcMax = RowBlock<T>();
        int ncMax = ColumnBlock<T>();
        int kcMax = DepthBlock;
        bool directA = packedA is null && !transposeA && path == GemmPath.Vector512 && j1 - j0 <= DirectColumnStrips * nr
            && (j1 - j0) % nr == 0;
        bool directB = transposeB && path == GemmPath.Vector512 && i1 - i0 <= DirectRowBlocks * mcMax;

        // Whether each in-place strip's first tile (the first row block's) is a full one, which copies the strip.
        bool copyB = directB && i1 - i0 >= mr;
        for (int jc = j0; jc < j1; jc += ncMax)
        {
            int nc = Math.Min(ncMax, j1 - jc);
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                // Later k blocks add to what the first one wrote: C = alpha·acc₁ + beta·C, then C = alpha·acc₂ + C, …
                T betaBlock = pc == 0 ? beta : T.One;
                if (directA)
                {
                    // A narrow product's few strips of op(B), packed once for every row block below.
                    GemmPacking.PackB(transposeB, b, ldb, pc, kc, jc, nc, nr, buffers.B);
                }

                for (int ic = i0; ic < i1; ic += mcMax)
                {
                    int mc = Math.Min(mcMax, i1 - ic);
                    T* aBlock;
                    if (directA)
                    {
                        // A narrow product (n ≤ 4·NR: a per-step product of a small batch) uses each row strip of
                        // op(A) for only a few tiles, so packing it costs about as much as computing with it; a plain
                        // op(A)'s columns are contiguous, so full strips are read in place, lda apart from step to
                        // step, and only a ragged last strip is packed.
                        RunDirectA(path, kc, a + ic + ((long)pc * lda), lda, mc, nc, alpha, betaBlock, c + ic + ((long)jc * ldc), ldc, buffers);
                        continue;
                    }

                    if (packedA is null)
                    {
                        GemmPacking.PackA(transposeA, a, lda, ic, mc, pc, kc, mr, buffers.A);
                        aBlock = buffers.A;
                    }
                    else
                    {
                        aBlock = packedA + ((long)pc * packedRows) + ((long)ic * kc);
                    }

                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int columns = Math.Min(nr, nc - jr);
                        T* bStrip = buffers.B + ((long)jr * kc);
                        if (directB && columns == nr)
                        {
                            // A transposed op(B)'s rows are contiguous, so a tile can read a strip where it lies, ldb
                            // apart from step to step, instead of packing it: with few row blocks (m ≤ 4·MC), each
                            // strip is used by so few tiles that a packing pass costs about as much as computing with
                            // it (measured on the weight gradients dW = Δ·Xᵀ: m = 64 to 512 gain, m = 1024 does not).
                            // Only the strip's first tile (in the first row block) reads it there, and copies it into
                            // the panel as it goes; the other tiles read the copy. In place, each step's values lie a
                            // row of B (ldb) from the last step's, and with ldb a multiple of 4 KB (H at hidden = 1024
                            // in dW_y = dZ·Hᵀ) all of a strip's lines fall into one set of L1 and a few sets of L2, so
                            // every tile would fetch them again (measured with the copy: XL's dW_y 10 % faster on one
                            // thread, 17 % on two; the other products unchanged within noise).
                            T* bInPlace = b + jc + jr + ((long)pc * ldb);
                            T* cStrip = c + ((long)(jc + jr) * ldc) + ic;
                            if (!copyB)
                            {
                                // Fewer rows than one tile: its only tile is ragged, and reads the strip in place.
                                GemmMicroKernel.Tile(path, kc, aBlock, mr, bInPlace, ldb, cStrip, ldc, mc, columns, alpha, betaBlock);
                                continue;
                            }

                            int first = 0;
                            if (ic == i0)
                            {
                                GemmMicroKernel512.FullTile(kc, aBlock, mr, bInPlace, ldb, cStrip, ldc, alpha, betaBlock, bStrip);
                                first = mr;
                            }

                            for (int ir = first; ir < mc; ir += mr)
                            {
                                GemmMicroKernel.Tile(
                                    path, kc, aBlock + ((long)ir * kc), bStrip, cStrip + ir, ldc, Math.Min(mr, mc - ir), columns, alpha, betaBlock);
                            }

                            continue;
                        }

                        if (ic == i0 && (directB || jr % (nr * StripsPerPack) == 0))
                        {
                            // op(B) is packed a few strips at a time, right before their first tiles, while they are
                            // still in L1; the later row blocks read them from the panel. With few rows (m = O in
                            // W_y·H, dW_y) every strip is used by only a handful of tiles, and a separate packing pass
                            // would read it back from L3. Four strips of eight floats span whole cache lines of a
                            // transposed op(B)'s rows, so each line is read once. When op(B) is read in place, only the
                            // ragged last strip reaches here, packed alone.
                            int packColumns = directB ? columns : Math.Min(nr * StripsPerPack, nc - jr);
                            GemmPacking.PackB(transposeB, b, ldb, pc, kc, jc + jr, packColumns, nr, bStrip);
                        }

                        T* cColumn = c + ((long)(jc + jr) * ldc) + ic;
                        if (columns < nr)
                        {
                            GemmMicroKernel.NarrowPanel(path, kc, aBlock, mc, bStrip, cColumn, ldc, columns, alpha, betaBlock);
                            continue;
                        }

                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            GemmMicroKernel.Tile(
                                path, kc, aBlock + ((long)ir * kc), bStrip, cColumn + ir, ldc, Math.Min(mr, mc - ir), columns, alpha, betaBlock);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The tiles of one row block of a narrow product with op(A) read in place, against op(B)'s strips already packed in
    /// the B buffer: each full MR-row strip of op(A) against every strip, a ragged last strip packed into the A buffer.
    /// </summary>
    private static void RunDirectA<T>(
        GemmPath path, int kc, T* aBlock, int lda, int mc, int nc, T alpha, T beta, T* cBlock, int ldc, PackBuffers<T> buffers)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mr = GemmMicroKernel.Rows<T>(path);
        int nr = GemmMicroKernel.Columns(path);
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            T* aStrip = aBlock + ir;
            int aStride = lda;
            if (rows < mr)
            {
                GemmPacking.PackA(false, aBlock, lda, ir, rows, 0, kc, mr, buffers.A);
                aStrip = buffers.A;
                aStride = mr;
            }

            for (int jr = 0; jr < nc; jr += nr)
            {
                GemmMicroKernel.Tile(
                    path, kc, aStrip, aStride, buffers.B + ((long)jr * kc), nr, cBlock + ir + ((long)jr * ldc), ldc, rows, nr, alpha, beta);
            }
        }
    }

    /// <summary>Drops every pooled packing buffer (both element types); the next products allocate them again.</summary>
    internal static void TrimPackBuffers()
    {
        PackBuffers<float>.Trim();
        PackBuffers<double>.Trim();
    }

    /// <summary>
    /// Packing buffers, pinned, rented by one part of a product for its duration and returned to a small shared pool, so
    /// a steady-state product allocates nothing and two parts running at once never share a buffer. The pool holds at
    /// most <see cref="Capacity"/> sets per element type, whatever the number of threads that ever called: a set
    /// returned to a full pool is left to the GC. A set is as large as the largest block it has packed, at most
    /// KC x NC + KC x MC elements (about 3.1 MB for float or double).
    /// </summary>
    private sealed class PackBuffers<TElement>
        where TElement : unmanaged
    {
        /// <summary>
        /// Four sets per core, plus four: every part of a call running at once and the parts of several concurrent
        /// callers. Only when more parts than this run at once does a part allocate a set (which the GC later takes).
        /// </summary>
        private static readonly int Capacity = (4 * Environment.ProcessorCount) + 4;

        private static readonly PackBuffers<TElement>?[] Pool = new PackBuffers<TElement>?[Capacity];

        private TElement[] _a = [];
        private TElement[] _b = [];

        public TElement* A => Start(_a);

        public TElement* B => Start(_b);

        public static PackBuffers<TElement> Rent(int bLength, int aLength)
        {
            // The first pooled set already large enough, else any pooled set (grown below): a set grows only to the
            // largest block it has packed, so a steady state soon finds sets that fit and allocates nothing.
            PackBuffers<TElement>? buffers = null;
            for (int i = 0; i < Pool.Length && buffers is null; i++)
            {
                PackBuffers<TElement>? candidate = Volatile.Read(ref Pool[i]);
                if (candidate is not null && candidate.Fits(bLength, aLength)
                    && Interlocked.CompareExchange(ref Pool[i], null, candidate) == candidate)
                {
                    buffers = candidate;
                }
            }

            for (int i = 0; i < Pool.Length && buffers is null; i++)
            {
                buffers = Interlocked.Exchange(ref Pool[i], null);
            }

            if (buffers is not null && buffers.Fits(bLength, aLength))
            {
                return buffers;
            }

            // A miss: what is free depends on what other threads hold right now, so the bytes are counted apart.
            long before = GC.GetAllocatedBytesForCurrentThread();
            buffers ??= new PackBuffers<TElement>();
            Grow(ref buffers._b, bLength);
            Grow(ref buffers._a, aLength);
            SharedPoolAllocations.AddSince(before);
            return buffers;
        }

        private bool Fits(int bLength, int aLength) => _b.Length >= bLength + 64 && _a.Length >= aLength + 64;

        public static void Return(PackBuffers<TElement> buffers)
        {
            for (int i = 0; i < Pool.Length; i++)
            {
                if (Interlocked.CompareExchange(ref Pool[i], buffers, null) is null)
                {
                    return;
                }
            }
        }

        public static void Trim()
        {
            for (int i = 0; i < Pool.Length; i++)
            {
                Volatile.Write(ref Pool[i], null);
            }
        }

        private static void Grow(ref TElement[] buffer, int length)
        {
            // 64 elements of slack so that Start can align the first element to a 64-byte cache line.
            if (buffer.Length < length + 64)
            {
                buffer = GC.AllocateUninitializedArray<TElement>(length + 64, pinned: true);
            }
        }

        private static TElement* Start(TElement[] buffer)
        {
            nint address = (nint)Unsafe.AsPointer(ref buffer[0]);
            return (TElement*)((address + 63) & ~(nint)63);
        }
    }
}
