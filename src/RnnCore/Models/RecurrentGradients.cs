using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Internal;

namespace RnnCore.Models;

/// <summary>
/// The result of <see cref="Bptt{T}"/>: dL/dparameter for every parameter (named as
/// <see cref="RecurrentModel{T}.Parameters"/>), dL/dh_0 and dL/dc_0 for every layer-direction, the loss, and the norms of
/// dL/dh at every position of every layer and direction (the vanishing-gradient diagnostic). Create one with
/// <see cref="RecurrentModel{T}.CreateGradients"/> and pass it back on every step: it is overwritten, never reallocated.
/// </summary>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class RecurrentGradients<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly RecurrentModel<T> _model;
    private readonly double[][] _dhNorms;

    internal RecurrentGradients(RecurrentModel<T> model, int steps, int batch)
    {
        Guard.Positive(steps, nameof(steps));
        Guard.Positive(batch, nameof(batch));
        _model = model;
        Options = model.Options;
        FusedBias = model.FusedBias;
        Steps = steps;
        Capacity = steps;
        Batch = batch;
        TensorSet<T> parameters = model.Parameters;
        var names = new string[parameters.Count];
        var tensors = new Memory<T>[parameters.Count];
        for (int i = 0; i < parameters.Count; i++)
        {
            names[i] = parameters.GetName(i);
            tensors[i] = new T[parameters.GetLength(i)];
        }

        ParameterGradients = new TensorSet<T>(names, tensors);
        int count = model.Layers * model.Directions;
        InitialHiddenData = new T[count][];
        InitialCellData = new T[count][];
        _dhNorms = new double[count][];
        for (int ld = 0; ld < count; ld++)
        {
            InitialHiddenData[ld] = new T[Guard.ElementCount<T>(model.StateSize, batch, "initial-state gradient")];
            InitialCellData[ld] = model.Cell.HasCellState ? new T[Guard.ElementCount<T>(model.HiddenSize, batch, "initial-state gradient")] : [];
            _dhNorms[ld] = new double[steps];
        }
    }

    /// <summary>The options of the model these gradients are for.</summary>
    public RecurrentModelOptions Options { get; }

    /// <summary>Number of steps T (of the last BPTT; at most the steps these gradients were created for).</summary>
    public int Steps { get; private set; }

    /// <summary>The steps these gradients were created for: <see cref="UseSteps"/> may use fewer without reallocating.</summary>
    internal int Capacity { get; }

    /// <summary>Number of sequences B.</summary>
    public int Batch { get; }

    /// <summary>The loss at which the gradients were computed.</summary>
    public T Loss { get; internal set; }

    /// <summary>Every parameter's gradient, in the order and with the names of <see cref="RecurrentModel{T}.Parameters"/>, for optimizers and clipping.</summary>
    public TensorSet<T> ParameterGradients { get; }

    /// <summary>True when made for a network with one fused hidden bias (see <see cref="RecurrentModel{T}.FusedBias"/>).</summary>
    internal bool FusedBias { get; }

    internal T[][] InitialHiddenData { get; }

    internal T[][] InitialCellData { get; }

    internal double[][] DhNormsData => _dhNorms;

    /// <summary>The gradient of the parameter named <paramref name="name"/>, as a live matrix shaped like <see cref="RecurrentModel{T}.Parameter"/>.</summary>
    /// <param name="name">A parameter name, e.g. <c>"rnn.weight_hh_l0"</c>, or <c>"Wh"</c> for a <see cref="RecurrentLayer{T}"/>.</param>
    public Matrix<T> Gradient(string name) => _model.View(ParameterGradients, name);

    /// <summary>dL/dh_0 of layer-direction <paramref name="index"/> (layer·D + direction), a new H x B matrix (P x B with projections).</summary>
    /// <param name="index">layer·D + direction.</param>
    public Matrix<T> InitialHidden(int index)
    {
        T[] values = InitialHiddenData[CheckIndex(index)];
        return Matrix<T>.Build.Dense(values.Length / Batch, Batch, values.ToArray());
    }

    /// <summary>dL/dc_0 of layer-direction <paramref name="index"/> (LSTM only), a new H x B matrix.</summary>
    /// <param name="index">layer·D + direction.</param>
    /// <exception cref="InvalidOperationException">The cell has no cell state.</exception>
    public Matrix<T> InitialCell(int index)
    {
        if (!_model.Cell.HasCellState)
        {
            throw new InvalidOperationException($"a {Options.Cell} cell has no cell state; only a cell that carries c (Lstm) has dL/dc_0.");
        }

        return Matrix<T>.Build.Dense(Options.HiddenSize, Batch, InitialCellData[CheckIndex(index)].ToArray());
    }

    /// <summary>
    /// For layer <paramref name="layer"/>, direction <paramref name="direction"/> (0 forward, 1 reverse), the Frobenius
    /// norm over the batch of the total gradient dL/dh_t at each position t (every path: the head or the layer above,
    /// and the same direction's later steps, through c as well for LSTM), computed in double. Positions, not processing
    /// order: for the reverse direction position T−1 is its first step. Shrinking away from the loss means vanishing
    /// gradients; exactly 0 means the position is not connected to the loss.
    /// </summary>
    /// <param name="layer">0 ≤ layer &lt; L.</param>
    /// <param name="direction">0, or 1 for a bidirectional model.</param>
    public IReadOnlyList<double> DhNorms(int layer, int direction)
    {
        int d = Options.Bidirectional ? 2 : 1;
        if ((uint)layer >= (uint)Options.Layers || (uint)direction >= (uint)d)
        {
            throw new ArgumentOutOfRangeException(nameof(layer), $"(layer {layer}, direction {direction}) is outside {Options.Layers} layer(s) x {d} direction(s).");
        }

        return new ArraySegment<double>(_dhNorms[(layer * d) + direction], 0, Steps);
    }

    /// <summary>Uses the first <paramref name="steps"/> norms (1..<see cref="Capacity"/>), for a cache that does the same.</summary>
    internal void UseSteps(int steps)
    {
        if (steps < 1 || steps > Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps must be in [1, {Capacity}], but was {steps}.");
        }

        Steps = steps;
    }

    /// <summary>Sets every gradient, the norms and the loss to zero.</summary>
    public void Clear()
    {
        ParameterGradients.Clear();
        foreach (T[] block in InitialHiddenData)
        {
            block.AsSpan().Clear();
        }

        foreach (T[] block in InitialCellData)
        {
            block.AsSpan().Clear();
        }

        foreach (double[] norms in _dhNorms)
        {
            norms.AsSpan().Clear();
        }

        Loss = T.Zero;
    }

    private int CheckIndex(int index) => (uint)index < (uint)InitialHiddenData.Length
        ? index
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be in [0, {InitialHiddenData.Length - 1}] (layer·D + direction), but was {index}.");
}
