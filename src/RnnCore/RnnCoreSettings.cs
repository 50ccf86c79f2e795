using RnnCore.Kernels;

namespace RnnCore;

/// <summary>Process-wide settings of RnnCore's compute kernels, and the per-call override of the degree of parallelism.</summary>
/// <remarks>
/// How many threads a matrix product may use is decided, for each product, by the first of these that is set: a
/// <see cref="UseDegreeOfParallelism"/> scope on the calling thread (per call), the model's own
/// <see cref="Models.RecurrentModel{T}.MaxDegreeOfParallelism"/> (per network), then <see cref="MaxDegreeOfParallelism"/>
/// (the process default). Every setting gives bit-identical results. See docs/hosting.md for the threads behind it.
/// </remarks>
public static class RnnCoreSettings
{
    /// <summary>
    /// The most threads one matrix product may use (the calling thread included); 1 runs everything on the calling
    /// thread. Defaults to <see cref="Environment.ProcessorCount"/>. Only products large enough to pay for the hand-off
    /// are split, always along the kernels' tile grid, so the results are bit-identical for every setting.
    /// Safe to change at any time; a product already running keeps the value it started with. This is the process
    /// default: a network's <see cref="Models.RecurrentModel{T}.MaxDegreeOfParallelism"/> and a
    /// <see cref="UseDegreeOfParallelism"/> scope take precedence over it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public static int MaxDegreeOfParallelism
    {
        get => KernelParallelism.ProcessDegree;
        set
        {
            RequireDegree(value, nameof(value));
            KernelParallelism.ProcessDegree = value;
        }
    }

    /// <summary>The degree of parallelism a product started now on this thread would use (scope, then model, then process default).</summary>
    internal static int CurrentDegreeOfParallelism => KernelParallelism.Current;

    /// <summary>
    /// Limits the matrix products that RnnCore runs on the calling thread, until the returned scope is disposed, to at
    /// most <paramref name="maxDegreeOfParallelism"/> threads (the calling thread included), overriding the model's and
    /// the process-wide setting: <c>using (RnnCoreSettings.UseDegreeOfParallelism(1)) layer.Forward(...);</c>. Scopes
    /// nest; other threads are not affected. Dispose the scope on the thread that created it (do not hold it across an
    /// <c>await</c>).
    /// </summary>
    /// <param name="maxDegreeOfParallelism">At least 1.</param>
    /// <returns>A scope whose <see cref="ParallelismScope.Dispose"/> restores the previous value.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxDegreeOfParallelism"/> is less than 1.</exception>
    public static ParallelismScope UseDegreeOfParallelism(int maxDegreeOfParallelism)
    {
        RequireDegree(maxDegreeOfParallelism, nameof(maxDegreeOfParallelism));
        return new ParallelismScope(KernelParallelism.Exchange(network: false, maxDegreeOfParallelism), model: false);
    }

    /// <summary>Applies a model's own degree (null: none) to the products of its pass on this thread, below any call scope.</summary>
    internal static ParallelismScope UseModelDegree(int? degree)
    {
        return new ParallelismScope(KernelParallelism.Exchange(network: true, degree), model: true);
    }

    internal static void RequireDegree(int value, string paramName)
    {
        if (value < 1)
        {
            throw new ArgumentOutOfRangeException(paramName, value, $"MaxDegreeOfParallelism must be at least 1, but was {value}.");
        }
    }

    /// <summary>A per-thread override of the degree of parallelism; disposing it restores the previous value.</summary>
    public readonly struct ParallelismScope : IDisposable
    {
        private readonly int _previous;
        private readonly bool _model;

        internal ParallelismScope(int previous, bool model)
        {
            _previous = previous;
            _model = model;
        }

        /// <summary>Restores the value that was in force when the scope was created.</summary>
        public void Dispose() => KernelParallelism.Exchange(_model, _previous);
    }
}
