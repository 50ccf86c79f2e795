namespace RnnCore.Internal;

/// <summary>
/// xoshiro256** (Blackman and Vigna, 2018) seeded through SplitMix64: a small generator whose output depends only on
/// the seed, so the same seed gives bit-identical weights on every machine and runtime. <see cref="System.Random"/>
/// makes no such promise across .NET versions.
/// </summary>
internal sealed class SeededRandom
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;
    private double _spare;
    private bool _hasSpare;

    /// <summary>Creates a generator from a 64-bit seed.</summary>
    public SeededRandom(long seed)
    {
        // SplitMix64 expands the seed into the four words of state (the seeding xoshiro's authors recommend).
        ulong x = unchecked((ulong)seed);
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>Creates a generator from its four words of state (for the published test vectors).</summary>
    internal SeededRandom(ulong s0, ulong s1, ulong s2, ulong s3)
    {
        _s0 = s0;
        _s1 = s1;
        _s2 = s2;
        _s3 = s3;
    }

    /// <summary>
    /// The four words of state, for a checkpoint's training position; <see cref="FromState"/> restores them. The spare
    /// normal draw of <see cref="NextGaussian"/> is not part of it: capture only between calls that use raw bits.
    /// </summary>
    internal ulong[] GetState() => [_s0, _s1, _s2, _s3];

    /// <summary>A generator that continues exactly where the one whose <see cref="GetState"/> gave these words stood.</summary>
    /// <exception cref="ArgumentException">Not four words, or all four zero (a state xoshiro256** never reaches and never leaves).</exception>
    internal static SeededRandom FromState(IReadOnlyList<ulong> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Count != 4)
        {
            throw new ArgumentException($"a xoshiro256** state has 4 words, but {state.Count} were given.", nameof(state));
        }

        if ((state[0] | state[1] | state[2] | state[3]) == 0)
        {
            throw new ArgumentException("a xoshiro256** state of four zero words is invalid: the generator would return 0 forever.", nameof(state));
        }

        return new SeededRandom(state[0], state[1], state[2], state[3]);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A double uniform on [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A double uniform on [low, high).</summary>
    public double NextUniform(double low, double high) => low + ((high - low) * NextDouble());

    /// <summary>
    /// A standard normal draw by Marsaglia's polar method: (u, v) uniform in the unit disc, s = u² + v²,
    /// z = u · √(−2 ln s / s) (and v · the same factor, kept for the next call). Only basic operations, √ and
    /// <see cref="PortableMath.Log"/>, so the draws are the same on every machine.
    /// </summary>
    public double NextGaussian()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spare;
        }

        double u, v, s;
        do
        {
            u = (2 * NextDouble()) - 1;
            v = (2 * NextDouble()) - 1;
            s = (u * u) + (v * v);
        }
        while (s >= 1 || s == 0);

        double factor = Math.Sqrt(-2 * PortableMath.Log(s) / s);
        _spare = v * factor;
        _hasSpare = true;
        return u * factor;
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    /// <summary>One step of SplitMix64 (Steele, Lea and Flood, 2014): advances x and returns the mixed output.</summary>
    internal static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
