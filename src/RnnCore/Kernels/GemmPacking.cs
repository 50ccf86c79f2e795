using System.Runtime.Intrinsics;

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
    /// <summary>Packs op(A)[i0 .. i0+mc−1, p0 .. p0+kc−1] into MR-row strips at <paramref name="packed"/>.</summary>
    public static void PackA<T>(bool transposeA, T* a, int lda, int i0, int mc, int p0, int kc, int mr, T* packed)
        where T : unmanaged
    {
        for (int strip = 0; strip < mc; strip += mr)
        {
            int rows = Math.Min(mr, mc - strip);
            T* destination = packed + ((long)strip * kc);
            if (!transposeA)
            {
                // op(A)(i, p) = a[i + p·lda]: each step p copies a contiguous run of rows; a whole strip is exactly
                // two 256-bit vectors (MR), so it moves as two loads and two stores.
                if (rows == mr && mr == 2 * Vector256<T>.Count && Vector256.IsHardwareAccelerated)
                {
                    int w = Vector256<T>.Count;
                    for (int p = 0; p < kc; p++)
                    {
                        T* source = a + i0 + strip + ((long)(p0 + p) * lda);
                        T* row = destination + ((long)p * mr);
                        Vector256.Store(Vector256.Load(source), row);
                        Vector256.Store(Vector256.Load(source + w), row + w);
                    }

                    continue;
                }

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
                // op(A)(i, p) = a[p + i·lda]: walk each stored column (contiguous in p) and scatter it across the strip.
                for (int i = 0; i < rows; i++)
                {
                    T* source = a + p0 + ((long)(i0 + strip + i) * lda);
                    for (int p = 0; p < kc; p++)
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
        for (int strip = 0; strip < nc; strip += nr)
        {
            int columns = Math.Min(nr, nc - strip);
            T* destination = packed + ((long)strip * kc);
            if (!transposeB)
            {
                // op(B)(p, j) = b[p + j·ldb]: each stored column is contiguous in p; interleave NR of them.
                for (int j = 0; j < columns; j++)
                {
                    T* source = b + p0 + ((long)(j0 + strip + j) * ldb);
                    for (int p = 0; p < kc; p++)
                    {
                        destination[((long)p * nr) + j] = source[p];
                    }
                }

                for (int j = columns; j < nr; j++)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        destination[((long)p * nr) + j] = default;
                    }
                }
            }
            else
            {
                // op(B)(p, j) = b[j + p·ldb]: each step p copies a contiguous run of columns.
                for (int p = 0; p < kc; p++)
                {
                    T* source = b + j0 + strip + ((long)(p0 + p) * ldb);
                    T* row = destination + ((long)p * nr);
                    int j = 0;
                    for (; j < columns; j++)
                    {
                        row[j] = source[j];
                    }

                    for (; j < nr; j++)
                    {
                        row[j] = default;
                    }
                }
            }
        }
    }
}
