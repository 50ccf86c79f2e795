using System.Numerics;

namespace RnnCore.Kernels;

/// <summary>
/// A function the caller applies to C right after a product, by the thread that computed those columns, while they are
/// still in its cache: the recurrence's <c>h_t = f(W_h h_{t−1} + a_t)</c>, or a whole cell step, in one call. The kernel
/// knows nothing of what the function computes; it hands over whole columns only, never a column split between threads,
/// so a function that treats each column on its own gives the same bits for every thread count.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal interface IGemmEpilogue<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// Applies the function to <paramref name="columnCount"/> whole columns of C starting at column
    /// <paramref name="firstColumn"/>, held contiguously (m rows each) in <paramref name="block"/>. Called from the
    /// product's worker threads, at most once per column, possibly for several column ranges at once.
    /// </summary>
    void Apply(Span<T> block, int firstColumn, int columnCount);
}
