using MathNet.Numerics.LinearAlgebra;
using RnnCore.Internal;

namespace RnnCore;

/// <summary>
/// The result of <see cref="Bptt{T}"/>: dL/dparameter for the five shared parameters, dL/dh_0, the loss they were
/// computed at, and the per-step gradient norms that show vanishing or exploding gradients. Create one with
/// <see cref="RecurrentLayer{T}.CreateGradients"/> and pass it back on every step: it is overwritten, never reallocated.
/// </summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class RecurrentGradients<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    private readonly double[] _dhNorms;
    private readonly StepNorms _dhNormsView;

    internal RecurrentGradients(int inputSize, int hiddenSize, int outputSize, int steps, int batch)
    {
        Guard.Positive(steps, nameof(steps));
        Guard.Positive(batch, nameof(batch));

        // BPTT keeps dL/dh_t for every step and sequence (H x T·B) while it walks back: refuse here, before any buffer
        // exists, a size whose workspace one array cannot hold.
        Guard.ElementCount<T>(hiddenSize, (long)steps * batch, "the BPTT workspace dL/dh (hiddenSize x steps·batch)");
        Steps = steps;
        Capacity = steps;
        Batch = batch;
        WxData = new T[hiddenSize * inputSize];
        WhData = new T[hiddenSize * hiddenSize];
        WyData = new T[outputSize * hiddenSize];
        BhData = new T[hiddenSize];
        ByData = new T[outputSize];
        InitialHiddenData = new T[Guard.ElementCount<T>(hiddenSize, batch, "initial-hidden gradient")];
        _dhNorms = new double[steps];
        _dhNormsView = new StepNorms(_dhNorms, steps);
        Wx = Matrix<T>.Build.Dense(hiddenSize, inputSize, WxData);
        Wh = Matrix<T>.Build.Dense(hiddenSize, hiddenSize, WhData);
        Wy = Matrix<T>.Build.Dense(outputSize, hiddenSize, WyData);
        Bh = Vector<T>.Build.Dense(BhData);
        By = Vector<T>.Build.Dense(ByData);
        InitialHidden = Matrix<T>.Build.Dense(hiddenSize, batch, InitialHiddenData);
        ParameterGradients = new TensorSet<T>(
            RecurrentLayer<T>.ParameterNames, [WxData, WhData, WyData, BhData, ByData]);
    }

    /// <summary>Number of steps T these gradients are for.</summary>
    public int Steps { get; private set; }

    /// <summary>The steps the buffers were allocated for (see <see cref="UseSteps"/>).</summary>
    internal int Capacity { get; }

    /// <summary>Number of sequences B these gradients are for.</summary>
    public int Batch { get; }

    /// <summary>dL/dW_x, [hiddenSize, inputSize].</summary>
    public Matrix<T> Wx { get; }

    /// <summary>dL/dW_h, [hiddenSize, hiddenSize].</summary>
    public Matrix<T> Wh { get; }

    /// <summary>dL/dW_y, [outputSize, hiddenSize].</summary>
    public Matrix<T> Wy { get; }

    /// <summary>dL/db_h, [hiddenSize].</summary>
    public Vector<T> Bh { get; }

    /// <summary>dL/db_y, [outputSize].</summary>
    public Vector<T> By { get; }

    /// <summary>dL/dh_0, [hiddenSize, batch]: what a previous chunk would receive if gradients crossed chunk boundaries.</summary>
    public Matrix<T> InitialHidden { get; }

    /// <summary>
    /// For each 0-based step t, the Frobenius norm over the batch of the total gradient dL/dh at that step's hidden
    /// state, including every path through later steps. Shrinking towards step 0 means vanishing gradients; growing
    /// means exploding ones. Computed in double.
    /// </summary>
    public IReadOnlyList<double> DhNorms => _dhNormsView;

    /// <summary>The loss at which the gradients were computed.</summary>
    public T Loss { get; internal set; }

    /// <summary>The five parameter gradients in the order of <see cref="RecurrentLayer{T}.Parameters"/>, for optimizers and clipping.</summary>
    public TensorSet<T> ParameterGradients { get; }

    internal T[] WxData { get; }

    internal T[] WhData { get; }

    internal T[] WyData { get; }

    internal T[] BhData { get; }

    internal T[] ByData { get; }

    internal T[] InitialHiddenData { get; }

    internal Span<double> DhNormsData => _dhNorms.AsSpan(0, Steps);

    /// <summary>Serves a batch of <paramref name="steps"/> ≤ <see cref="Capacity"/> steps with the same buffers.</summary>
    internal void UseSteps(int steps)
    {
        if (steps < 1 || steps > Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps must be in [1, {Capacity}] (the gradients' capacity), but was {steps}.");
        }

        Steps = steps;
        _dhNormsView.Count = steps;
    }

    /// <summary>Sets every gradient, the norms and the loss to zero.</summary>
    public void Clear()
    {
        ParameterGradients.Clear();
        InitialHiddenData.AsSpan().Clear();
        _dhNorms.AsSpan().Clear();
        Loss = T.Zero;
    }

    /// <summary>The first Steps norms, as a list that does not allocate when the step count changes.</summary>
    private sealed class StepNorms(double[] norms, int count) : IReadOnlyList<double>
    {
        public int Count { get; set; } = count;

        public double this[int index] => (uint)index < (uint)Count ? norms[index] : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<double> GetEnumerator()
        {
            for (int t = 0; t < Count; t++)
            {
                yield return norms[t];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
