namespace RnnCore;

/// <summary>Process-wide settings of RnnCore's compute kernels.</summary>
public static class RnnCoreSettings
{
    private static int s_maxDegreeOfParallelism = Environment.ProcessorCount;

    /// <summary>
    /// The most threads one matrix product may use (the calling thread included); 1 runs everything on the calling
    /// thread. Defaults to <see cref="Environment.ProcessorCount"/>. Only products large enough to pay for the hand-off
    /// are split, always along the kernels' tile grid, so the results are bit-identical for every setting.
    /// Safe to change at any time; a product already running keeps the value it started with.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public static int MaxDegreeOfParallelism
    {
        get => Volatile.Read(ref s_maxDegreeOfParallelism);
        set
        {
            if (value < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, $"MaxDegreeOfParallelism must be at least 1, but was {value}.");
            }

            Volatile.Write(ref s_maxDegreeOfParallelism, value);
        }
    }
}
