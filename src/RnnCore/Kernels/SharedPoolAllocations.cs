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

    /// <summary>What this thread has allocated so far, less what the pools allocated on it: the thread's own work.</summary>
    public static long OwnBytesOnThisThread => GC.GetAllocatedBytesForCurrentThread() - t_bytes;

    /// <summary>Adds what this thread allocated since <paramref name="before"/>, a reading of <see cref="GC.GetAllocatedBytesForCurrentThread"/>.</summary>
    public static void AddSince(long before) => t_bytes += GC.GetAllocatedBytesForCurrentThread() - before;
}
