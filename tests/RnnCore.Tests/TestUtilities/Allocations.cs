using RnnCore.Kernels;

namespace RnnCore.Tests.TestUtilities;

/// <summary>What a steady state allocates on the calling thread.</summary>
internal static class Allocations
{
    /// <summary>
    /// Runs <paramref name="step"/> once to warm up (buffers sized, pools filled), then three more times, and returns the
    /// bytes those three allocated on this thread.
    /// </summary>
    public static long OfSteadyState(Action step)
    {
        step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 3; i++)
        {
            step();
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>
    /// What <paramref name="work"/> allocates on this thread, less what the kernels' process-wide pools allocated on it
    /// (packing buffers a product did not find free, worker threads started): those depend on what the tests running
    /// beside it hold at that moment, so only the rest is the work's own, the same on every run.
    /// </summary>
    public static long OfOwnWork(Action work)
    {
        long before = SharedPoolAllocations.OwnBytesOnThisThread;
        work();
        return SharedPoolAllocations.OwnBytesOnThisThread - before;
    }
}
