using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnCore.Kernels;

/// <summary>
/// Copies blocks of op(A) and op(B) into the panel layouts the micro-kernels stream through, so that the inner loop reads
/// both operands contiguously whatever the transposes and leading dimensions were.
/// </summary>
/// <remarks>
/// A block of op(A), mc x kc, becomes ⌈mc/MR⌉ row strips; strip s holds, for p = 0..kc−1, the MR values
/// op(A)[s·MR .. s·MR+MR−1, p]. A block of op(B), kc x nc, becomes ⌈nc/NR⌉ column strips; strip s holds, for
/// p = 0..kc−1, the NR values op(B)[p, s·NR .. s·NR+NR−1]. Rows or columns past the edge are packed as zeros, so every
/// tile runs the same full-size kernel and only the write-back knows about edges.
/// </remarks>
internal static unsafe class GemmPacking
{
    /// <summary>Whether packing fetches ahead (see <see cref="PackA{T}"/> and <see cref="PackB{T}"/>).</summary>
    private static readonly bool PrefetchAhead = Sse.IsSupported;

    /// <summary>How many steps ahead the packing of a plain op(A) fetches (see <see cref="PackA{T}"/>).</summary>
    private const int PlainASteps = 16;

    /// <summary>Packs op(A)[i0 .. i0+mc−1, p0 .. p0+kc−1] into MR-row strips at <paramref name="packed"/>.</summary>
    public static void PackA<T>(bool transposeA, T* a, int lda, int i0, int mc, int p0, int kc, int mr, T* packed)
        where T : unmanaged
    {
        int w = Vector256<T>.Count;
        int fullRows = mc - (mc % mr);
        int first = 0;
        if (!transposeA && fullRows > 0 && mr % w == 0 && Vector256.IsHardwareAccelerated)
        {
            // op(A)(i, p) = a[i + p·lda]: step by step, the block's whole run of rows at step p (contiguous in memory,
            // and the next step's run follows lda later) is dealt out to the full strips, so that memory is read in
            // long sequential runs the hardware prefetcher follows rather than one strip's width at a time.
            for (int p = 0; p < kc; p++)
            {
                T* source = a + i0 + ((long)(p0 + p) * lda);
                if (PrefetchAhead)
                {
                    // The run PlainASteps steps on, one prefetch per line. A step's run is one block high (512 bytes
                    // of floats) and the next starts lda later: with a large lda (4 KB for the weight gradients' Δ at
                    // hidden = 1024) every run lies on a page of its own, the hardware prefetcher, which follows runs
                    // within a page, loses track, and each step would wait for memory. Measured with the step's
                    // products: XL's Δ·Xᵀ, dZ·Hᵀ, Δ·Hᵀ and W_h·h 1 to 7 % faster, M and L within 2 % (but for L's
                    // Δ·Hᵀ, 7 % faster).
                    T* ahead = source + ((long)PlainASteps * lda);
                    for (int i = 0; i < fullRows; i += 64 / sizeof(T))
                    {
                        Sse.Prefetch0(ahead + i);
                    }
                }

                for (int strip = 0; strip < fullRows; strip += mr)
                {
                    T* row = packed + ((long)strip * kc) + ((long)p * mr);
                    for (int i = 0; i < mr; i += w)
                    {
                        Vector256.Store(Vector256.Load(source + strip + i), row + i);
                    }
                }
            }

            first = fullRows;
        }

        for (int strip = first; strip < mc; strip += mr)
        {
            int rows = Math.Min(mr, mc - strip);
            T* destination = packed + ((long)strip * kc);
            if (!transposeA)
            {
                // op(A)(i, p) = a[i + p·lda]: the ragged last strip, padded with zeros (full strips are packed above).
                for (int p = 0; p < kc; p++)
                {
                    T* source = a + i0 + strip + ((long)(p0 + p) * lda);
                    T* row = destination + ((long)p * mr);
                    int i = 0;
                    for (; i < rows; i++)
                    {
                        row[i] = source[i];
                    }

                    for (; i < mr; i++)
                    {
                        row[i] = default;
                    }
                }
            }
            else
            {
                // op(A)(i, p) = a[p + i·lda]: each stored column is contiguous in p. Groups of eight full columns go
                // through register transposes (as op(B)'s columns do); the rest are scattered across the strip.
                int transposed = 0;
                if (Avx.IsSupported && rows == mr && mr % 8 == 0)
                {
                    int steps = kc - (kc % w);
                    for (int g = 0; g < mr; g += 8)
                    {
                        T* source = a + p0 + ((long)(i0 + strip + g) * lda);
                        for (int p = 0; p < steps; p += w)
                        {
                            InterleaveEightColumns(source + p, lda, destination + ((long)p * mr) + g, mr);
                        }
                    }

                    transposed = steps;
                }

                for (int i = 0; i < rows; i++)
                {
                    T* source = a + p0 + ((long)(i0 + strip + i) * lda);
                    for (int p = transposed; p < kc; p++)
                    {
                        destination[((long)p * mr) + i] = source[p];
                    }
                }

                for (int i = rows; i < mr; i++)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        destination[((long)p * mr) + i] = default;
                    }
                }
            }
        }
    }

    /// <summary>Packs op(B)[p0 .. p0+kc−1, j0 .. j0+nc−1] into NR-column strips at <paramref name="packed"/>.</summary>
    public static void PackB<T>(bool transposeB, T* b, int ldb, int p0, int kc, int j0, int nc, int nr, T* packed)
        where T : unmanaged
    {
        int w = Vector256<T>.Count;
        for (int strip = 0; strip < nc; strip += nr)
        {
            int columns = Math.Min(nr, nc - strip);
            T* destination = packed + ((long)strip * kc);
            if (!transposeB)
            {
                // op(B)(p, j) = b[p + j·ldb]: each stored column is contiguous in p; interleave NR of them. Eight full
                // columns (the 512-bit path's NR) go through register transposes, a vector's length of steps at a time.
                int p = 0;
                if (columns == nr && nr == 8 && Avx.IsSupported)
                {
                    T* source = b + p0 + ((long)(j0 + strip) * ldb);
                    for (; p + w <= kc; p += w)
                    {
                        if (PrefetchAhead && (p & (64 / sizeof(T) - 1)) == 0)
                        {
                            // The same steps of the next call's columns (the next group of strips, nc columns on),
                            // one line per column into L2: packed right before its tiles, op(B) would otherwise wait
                            // for memory with nothing to overlap. A prefetch never faults, past the matrix or not.
                            T* next = source + p + ((long)nc * ldb);
                            for (int j = 0; j < 8; j++)
                            {
                                Sse.Prefetch1(next + ((long)j * ldb));
                            }
                        }

                        InterleaveEightColumns(source + p, ldb, destination + ((long)p * nr), nr);
                    }
                }

                for (int j = 0; j < columns; j++)
                {
                    T* source = b + p0 + ((long)(j0 + strip + j) * ldb);
                    for (int q = p; q < kc; q++)
                    {
                        destination[((long)q * nr) + j] = source[q];
                    }
                }

                for (int j = columns; j < nr; j++)
                {
                    for (int q = 0; q < kc; q++)
                    {
                        destination[((long)q * nr) + j] = default;
                    }
                }
            }
            else
            {
                // op(B)(p, j) = b[j + p·ldb]: each step p copies a contiguous run of columns (whole vectors when the
                // strip is full and NR is a multiple of the vector length).
                // Several full strips: step by step across all of them (PackTransposedRows), so that each step's
                // run of columns, contiguous in memory, is read whole, once.
                int fullColumns = (nc - strip) - ((nc - strip) % nr);
                if (fullColumns >= 2 * nr && nr % w == 0 && Vector256.IsHardwareAccelerated)
                {
                    PackTransposedRows(b + j0 + strip, ldb, p0, kc, fullColumns, nr, destination);
                    strip += fullColumns - nr;
                    continue;
                }

                bool vectors = columns == nr && nr % w == 0 && Vector256.IsHardwareAccelerated;
                for (int p = 0; p < kc; p++)
                {
                    T* source = b + j0 + strip + ((long)(p0 + p) * ldb);
                    T* row = destination + ((long)p * nr);
                    if (vectors)
                    {
                        for (int j = 0; j < nr; j += w)
                        {
                            Vector256.Store(Vector256.Load(source + j), row + j);
                        }

                        continue;
                    }

                    int jj = 0;
                    for (; jj < columns; jj++)
                    {
                        row[jj] = source[jj];
                    }

                    for (; jj < nr; jj++)
                    {
                        row[jj] = default;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Full NR-column strips of a transposed op(B), <paramref name="columns"/> wide: step p's run of columns (contiguous in
    /// memory) is dealt out to every strip before the next step is read, and the same run a panel's width ahead is
    /// fetched meanwhile.
    /// </summary>
    private static void PackTransposedRows<T>(T* b, int ldb, int p0, int kc, int columns, int nr, T* packed)
        where T : unmanaged
    {
        int w = Vector256<T>.Count;
        for (int p = 0; p < kc; p++)
        {
            T* source = b + ((long)(p0 + p) * ldb);
            if (PrefetchAhead)
            {
                for (int j = 0; j < columns; j += 64 / sizeof(T))
                {
                    Sse.Prefetch1(source + columns + j);
                }
            }

            for (int strip = 0; strip < columns; strip += nr)
            {
                T* row = packed + ((long)strip * kc) + ((long)p * nr);
                for (int j = 0; j < nr; j += w)
                {
                    Vector256.Store(Vector256.Load(source + strip + j), row + j);
                }
            }
        }
    }

    /// <summary>
    /// Eight stored columns (<paramref name="ldb"/> apart), one 256-bit vector's worth of steps p each, written as that many
    /// rows of eight, <paramref name="stride"/> elements apart: an 8 x 8 transpose for float, two 4 x 4 transposes side by
    /// side for double.
    /// </summary>
    private static void InterleaveEightColumns<T>(T* source, int ldb, T* destination, int stride)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            float* s = (float*)source;
            float* d = (float*)destination;
            Vector256<float> r0 = Avx.LoadVector256(s), r1 = Avx.LoadVector256(s + ldb);
            Vector256<float> r2 = Avx.LoadVector256(s + (2L * ldb)), r3 = Avx.LoadVector256(s + (3L * ldb));
            Vector256<float> r4 = Avx.LoadVector256(s + (4L * ldb)), r5 = Avx.LoadVector256(s + (5L * ldb));
            Vector256<float> r6 = Avx.LoadVector256(s + (6L * ldb)), r7 = Avx.LoadVector256(s + (7L * ldb));

            // Pairs interleaved, then quads, then the 128-bit halves exchanged: row q of the result is element q of r0..r7.
            Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
            Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
            Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
            Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
            Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
            Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
            Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
            Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
            Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
            Avx.Store(d + stride, Avx.Permute2x128(u1, u5, 0x20));
            Avx.Store(d + (2L * stride), Avx.Permute2x128(u2, u6, 0x20));
            Avx.Store(d + (3L * stride), Avx.Permute2x128(u3, u7, 0x20));
            Avx.Store(d + (4L * stride), Avx.Permute2x128(u0, u4, 0x31));
            Avx.Store(d + (5L * stride), Avx.Permute2x128(u1, u5, 0x31));
            Avx.Store(d + (6L * stride), Avx.Permute2x128(u2, u6, 0x31));
            Avx.Store(d + (7L * stride), Avx.Permute2x128(u3, u7, 0x31));
            return;
        }

        double* sd = (double*)source;
        double* dd = (double*)destination;
        for (int half = 0; half < 2; half++)
        {
            double* s4 = sd + ((long)half * 4 * ldb);
            Vector256<double> r0 = Avx.LoadVector256(s4), r1 = Avx.LoadVector256(s4 + ldb);
            Vector256<double> r2 = Avx.LoadVector256(s4 + (2L * ldb)), r3 = Avx.LoadVector256(s4 + (3L * ldb));
            Vector256<double> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
            Vector256<double> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
            double* d4 = dd + (half * 4);
            Avx.Store(d4, Avx.Permute2x128(t0, t2, 0x20));
            Avx.Store(d4 + stride, Avx.Permute2x128(t1, t3, 0x20));
            Avx.Store(d4 + (2L * stride), Avx.Permute2x128(t0, t2, 0x31));
            Avx.Store(d4 + (3L * stride), Avx.Permute2x128(t1, t3, 0x31));
        }
    }
}
