using System.Collections.Concurrent;
using RnnCore.Models;

namespace PredictionService;

/// <summary>
/// Forward caches kept between requests, per sequence length, so that a steady load allocates no new caches (a cache
/// holds the whole unrolled pass; for H = 256 and 64 steps about 0.4 MB). Bounded: lengths up to <see cref="MaxSteps"/>,
/// and at most <see cref="PerLength"/> idle caches per length; a cache returned beyond that is left to the GC.
/// </summary>
public sealed class CachePool(RecurrentModel<float> network)
{
    /// <summary>The longest sequence the service accepts.</summary>
    public const int MaxSteps = 256;

    /// <summary>Idle caches kept per length: enough for the requests one machine runs at once.</summary>
    public static readonly int PerLength = 2 * Environment.ProcessorCount;

    private readonly ConcurrentDictionary<int, ConcurrentBag<ForwardCache<float>>> _idle = new();

    /// <summary>A cache for <paramref name="steps"/> steps of one sequence, reused if one is idle.</summary>
    public ForwardCache<float> Rent(int steps) =>
        _idle.TryGetValue(steps, out ConcurrentBag<ForwardCache<float>>? bag) && bag.TryTake(out ForwardCache<float>? cache)
            ? cache
            : network.CreateCache(steps, 1);

    /// <summary>Gives a cache back for the next request of its length.</summary>
    public void Return(ForwardCache<float> cache)
    {
        ConcurrentBag<ForwardCache<float>> bag = _idle.GetOrAdd(cache.Steps, _ => []);
        if (bag.Count < PerLength)
        {
            bag.Add(cache);
        }
    }
}
