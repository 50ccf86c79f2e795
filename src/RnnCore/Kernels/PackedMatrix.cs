using System.Numerics;

namespace RnnCore.Kernels;

/// <summary>
/// op(A) packed once into the micro-kernels' strip layout, for a left operand that many products share: W_h in every
/// step of the forward recurrence, W_hᵀ in every step of the backward one. Packing it once per pass instead of once per
/// step removes an H² copy from each step.
/// </summary>
/// <remarks>
/// Layout: the k steps are cut into the same KC-blocks the GEMM uses; block [p0, p0+kc) starts at
/// <c>p0 · roundUp(m, MR)</c> and holds the ⌈m/MR⌉ strips of <see cref="GemmPacking.PackA"/>, strip s at
/// <c>s · MR · kc</c>. Products with a packed A are bit-identical to products with the same A unpacked.
/// The buffer is pinned, allocated once and refilled by <see cref="Pack"/>; one instance must not be packed by two
/// threads at once.
/// </remarks>
internal sealed unsafe class PackedMatrix<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _data;

    /// <summary>Allocates room for an m x k op(A), on any path (rows rounded up to the widest path's MR).</summary>
    public PackedMatrix(int rows, int depth)
    {
        Rows = rows;
        Depth = depth;
        Path = GemmMicroKernel.Current;
        RoundedRows = GemmBlocking.RoundUp(rows, GemmMicroKernel.Rows<T>(Path));
        int widest = Math.Max(GemmMicroKernel.Rows<T>(GemmPath.Vector512), GemmMicroKernel.Rows<T>(GemmPath.Vector256));
        _data = GC.AllocateUninitializedArray<T>(checked(GemmBlocking.RoundUp(rows, widest) * depth), pinned: true);
    }

    /// <summary>m, the rows of op(A).</summary>
    public int Rows { get; }

    /// <summary>k, the columns of op(A).</summary>
    public int Depth { get; }

    /// <summary>The path whose strip layout the last <see cref="Pack"/> wrote (the calling thread's path at that time).</summary>
    public GemmPath Path { get; private set; }

    /// <summary>m rounded up to a whole number of MR-row strips of <see cref="Path"/>.</summary>
    public int RoundedRows { get; private set; }

    /// <summary>The packed elements (pinned, so the pointer stays valid).</summary>
    internal T* Data => (T*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref _data[0]);

    /// <summary>Packs op(A) (m x k, column-major with leading dimension lda) into this buffer.</summary>
    public void Pack(bool transposeA, ReadOnlySpan<T> a, int lda)
    {
        GemmBlocking.RequireOperand(transposeA, Rows, Depth, a.Length, lda, nameof(a));
        Path = GemmMicroKernel.Current;
        int mr = GemmMicroKernel.Rows<T>(Path);
        RoundedRows = GemmBlocking.RoundUp(Rows, mr);
        fixed (T* pa = a)
        {
            int kcMax = GemmBlocking.DepthBlock;
            for (int p0 = 0; p0 < Depth; p0 += kcMax)
            {
                int kc = Math.Min(kcMax, Depth - p0);
                GemmPacking.PackA(transposeA, pa, lda, 0, Rows, p0, kc, mr, Data + ((long)p0 * RoundedRows));
            }
        }
    }
}
