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
}
