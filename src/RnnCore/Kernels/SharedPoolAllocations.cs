namespace RnnCore.Kernels;

/// <summary>
/// The bytes that the kernels' process-wide pools (packing buffers, worker threads) allocated on this thread. Whether a
/// product finds a pooled buffer that fits, or a live worker, depends on what other threads hold or did at that moment,
/// so a test that measures what a caller's own work allocates on its thread subtracts these to stay deterministic.
/// </summary>
internal static class SharedPoolAllocations
{
    [ThreadStatic]
    private static long t_bytes;

    /// <summary>The total so far on this thread.</summary>
    public static long OnThisThread => t_bytes;

    /// <summary>Adds what this thread allocated since <paramref name="before"/>, a reading of <see cref="GC.GetAllocatedBytesForCurrentThread"/>.</summary>
    public static void AddSince(long before) => t_bytes += GC.GetAllocatedBytesForCurrentThread() - before;
}
