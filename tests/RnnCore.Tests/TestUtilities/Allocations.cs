using RnnCore.Kernels;

namespace RnnCore.Tests.TestUtilities;

/// <summary>What a steady state allocates on the calling thread.</summary>
internal static class Allocations
{
    /// <summary>
    /// Runs <paramref name="step"/> once to warm up (buffers sized), then three more times, and returns the bytes those
    /// three allocated on this thread, less the kernels' process-wide pools' misses (<see cref="OfOwnWork"/>): whether a
    /// product finds a free pack buffer of its size depends on what the tests running beside it hold at that moment. The
    /// pool's own reuse is tested where nothing runs beside it (ModelAllocationTests, in the collection that runs alone).
    /// </summary>
    public static long OfSteadyState(Action step)
    {
        step();
        return OfOwnWork(() =>
        {
            for (int i = 0; i < 3; i++)
            {
                step();
            }
        });
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
