using RnnCore.Kernels;

namespace RnnCore.Tests.TestUtilities;

/// <summary>What a steady state allocates on the calling thread.</summary>
internal static class Allocations
{
    /// <summary>
    /// Runs <paramref name="step"/> once to warm up (buffers sized), then five windows of three steps, and returns the
    /// fewest bytes one window allocated on this thread: a step that allocates shows in every window, while a one-time
    /// event shows in at most one (an idle kernel worker's exit empties the pack-buffer pool at most once per idle
    /// timeout; a thread's first wait that blocks creates its lock objects), and which window it falls in depends on
    /// timing. Without <paramref name="countPools"/> the kernels' pool misses are left out (<see cref="OfOwnWork"/>):
    /// whether a product finds a free pack buffer of its size depends on what the tests running beside it hold; the pools'
    /// reuse is tested with them counted, where nothing runs beside the test (ModelAllocationTests).
    /// </summary>
    public static long OfSteadyState(Action step, bool countPools = false)
    {
        step();
        long fewest = long.MaxValue;
        for (int window = 0; window < 5; window++)
        {
            long before = countPools ? GC.GetAllocatedBytesForCurrentThread() : OwnBytes;
            for (int i = 0; i < 3; i++)
            {
                step();
            }

            fewest = Math.Min(fewest, (countPools ? GC.GetAllocatedBytesForCurrentThread() : OwnBytes) - before);
        }

        return fewest;
    }

    /// <summary>
    /// What <paramref name="work"/> allocates on this thread, less what the kernels' process-wide pools allocated on it
    /// (packing buffers a product did not find free, worker threads started): those depend on what the tests running
    /// beside it hold at that moment, so only the rest is the work's own, the same on every run.
    /// </summary>
    public static long OfOwnWork(Action work)
    {
        long before = OwnBytes;
        work();
        return OwnBytes - before;
    }

    /// <summary>What this thread has allocated so far, less the kernels' pool misses on it: for tests that read it twice.</summary>
    public static long OwnBytes => SharedPoolAllocations.OwnBytesOnThisThread;
}
