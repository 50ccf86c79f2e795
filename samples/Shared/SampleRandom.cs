namespace RnnCore.Samples;

/// <summary>
/// SplitMix64: a tiny seeded generator whose whole state is one 64-bit word, so that a checkpoint's
/// <c>TrainingPosition.RandomState</c> can hold it and a resumed run draws the same numbers as an uninterrupted one.
/// (RnnCore's own generator is internal; System.Random's state cannot be saved.)
/// </summary>
public sealed class SampleRandom
{
    public SampleRandom(long seed) => State = unchecked((ulong)seed);

    /// <summary>The generator's state; assign a saved value to continue a sequence.</summary>
    public ulong State { get; set; }

    public ulong NextUInt64()
    {
        // Steele, Lea and Flood's SplitMix64 (the seeding generator of xoshiro), constants as published.
        ulong z = State += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1), with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, count).</summary>
    public int NextInt(int count) => (int)(NextDouble() * count);

    /// <summary>A standard normal draw (Box–Muller; the second value is discarded to keep the state one word).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(); // in (0, 1], so the logarithm is finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
