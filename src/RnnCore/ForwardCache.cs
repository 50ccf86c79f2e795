using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Activations;
using RnnCore.Internal;
using RnnCore.Kernels;

namespace RnnCore;

/// <summary>
/// The unrolled forward pass of a <see cref="RecurrentLayer{T}"/> over B sequences of T steps: exactly what
/// <see cref="Bptt{T}"/> reads on its way back, and no more. Create one with
/// <see cref="RecurrentLayer{T}.CreateCache"/> and pass it back to
/// <see cref="RecurrentLayer{T}.Forward(IReadOnlyList{Matrix{T}}, ForwardCache{T}, Matrix{T})"/> on every step: it is
/// overwritten, never reallocated.
/// </summary>
/// <remarks>
/// Steps are numbered from 0: step t reads input x_t and produces the hidden state <see cref="Hidden"/>(t), which the
/// seed's notation calls h_{t+1}; <see cref="InitialHidden"/> is h_0. Each buffer is one column-major slab with one
/// column per (step, sequence), step-major, so each step's H x B block is contiguous and whole-sequence products are
/// single GEMMs. A cache is not thread-safe; use one cache per thread.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class ForwardCache<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    internal ForwardCache(int inputSize, int hiddenSize, int outputSize, int steps, int batch)
    {
        Guard.Positive(steps, nameof(steps));
        Guard.Positive(batch, nameof(batch));
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        OutputSize = outputSize;
        Steps = steps;
        Capacity = steps;
        Batch = batch;
        Inputs = new T[Guard.ElementCount<T>(inputSize, (long)steps * batch, "inputs cache")];
        Hiddens = new T[Guard.ElementCount<T>(hiddenSize, ((long)steps + 1) * batch, "hidden-state cache")];
        Logits = new T[Guard.ElementCount<T>(outputSize, (long)steps * batch, "logits cache")];
        LogSumExps = new double[steps * batch];
        InverseSums = new T[steps * batch];
        OutputScratch = new T[outputSize];
        PackedRecurrentWeights = new PackedMatrix<T>(hiddenSize, hiddenSize);
        Lengths = new int[batch];
    }

    /// <summary>Input size I.</summary>
    public int InputSize { get; }

    /// <summary>Hidden size H.</summary>
    public int HiddenSize { get; }

    /// <summary>Output size O.</summary>
    public int OutputSize { get; }

    /// <summary>Number of steps T.</summary>
    public int Steps { get; private set; }

    /// <summary>
    /// The steps the buffers were allocated for; <see cref="Steps"/> may be set lower with <see cref="UseSteps"/>, so
    /// that one cache, sized to the longest sequence, serves every shorter batch (the Trainer keeps one per batch size).
    /// </summary>
    internal int Capacity { get; }

    /// <summary>Number of sequences B.</summary>
    public int Batch { get; }

    /// <summary>True once a forward pass has filled the cache.</summary>
    public bool IsFilled => Owner is not null;

    /// <summary>The layer whose forward pass filled the cache; BPTT refuses a cache filled by another layer.</summary>
    internal object? Owner { get; set; }

    // [I, T·B]: x_t in columns t·B … t·B+B−1. Read by the backward for dW_x = δ·Xᵀ.
    internal T[] Inputs { get; }

    // [H, (T+1)·B]: h_0 in block 0, then the hidden state after step t in block t+1. Read by the backward for
    // f'(a_t) (tanh' = 1 − h², relu' = [h > 0], so the pre-activation need not be kept) and for dW_h, dW_y.
    internal T[] Hiddens { get; }

    // [O, T·B]: z_t = W_y h_t + b_y. Read by the loss (log-sum-exp and BCE are computed from logits, for stability) and
    // by every reader of y_t = g(z_t), which is rebuilt from it (OutputValues) rather than kept as a second [O, T·B] slab.
    internal T[] Logits { get; }

    // [T·B]: log Σ_k e^(z_k) of each logit column, kept by the softmax forward for the cross-entropy loss.
    internal double[] LogSumExps { get; }

    // [T·B]: 1 / Σ_k e^(z_k − max z) of each logit column (softmax only), so that y = e^(z − max z) · this is rebuilt with
    // the forward pass's own sum, bit for bit.
    internal T[] InverseSums { get; }

    // [O]: one column's exponentials while the softmax forward sums them.
    internal T[] OutputScratch { get; }

    // The output activation g of the layer that filled the cache, for rebuilding y.
    internal OutputActivation OutputActivation { get; set; }

    // W_h in the GEMM kernel's panel layout, packed once per forward pass and shared by its T recurrent products; BPTT
    // then packs W_hᵀ into the same buffer for its T products (W_h is square, and the forward pass is done with it).
    // Owned by the cache, not the layer, so that threads running Forward at once never share it.
    internal PackedMatrix<T> PackedRecurrentWeights { get; }

    /// <summary>
    /// True when the last forward pass was given per-sequence lengths (a padded batch of variable-length sequences).
    /// </summary>
    public bool HasLengths { get; internal set; }

    // [B]: the number of real steps of each sequence when HasLengths (0..T inside a truncated chunk, 1..T from the
    // public API); steps t ≥ Lengths[b] are padding: h_t = h_{t−1}, no loss, no gradient.
    internal int[] Lengths { get; }

    /// <summary>The initial hidden state h_0 as a new H x B matrix (a copy).</summary>
    public Matrix<T> InitialHidden => Block(Hiddens, HiddenSize, 0);

    /// <summary>
    /// The last hidden state (after step T−1) as a new H x B matrix (a copy): the h_0 to carry into the next chunk. With
    /// per-sequence lengths, column b is sequence b's state after its own last step (padded steps carry it unchanged).
    /// </summary>
    public Matrix<T> FinalHidden => Block(Hiddens, HiddenSize, Steps);

    /// <summary>The input x_t of step <paramref name="step"/> as a new I x B matrix (a copy).</summary>
    /// <param name="step">0-based step, 0 ≤ step &lt; <see cref="Steps"/>.</param>
    public Matrix<T> Input(int step) => Block(Inputs, InputSize, CheckStep(step));

    /// <summary>The hidden state after step <paramref name="step"/> (h_{step+1} in the seed's notation), a new H x B matrix.</summary>
    /// <param name="step">0-based step, 0 ≤ step &lt; <see cref="Steps"/>.</param>
    public Matrix<T> Hidden(int step) => Block(Hiddens, HiddenSize, CheckStep(step) + 1);

    /// <summary>The logits z_t = W_y h_t + b_y of step <paramref name="step"/>, a new O x B matrix.</summary>
    /// <param name="step">0-based step, 0 ≤ step &lt; <see cref="Steps"/>.</param>
    public Matrix<T> Logit(int step) => Block(Logits, OutputSize, CheckStep(step));

    /// <summary>The output y_t = g(z_t) of step <paramref name="step"/>, a new O x B matrix.</summary>
    /// <param name="step">0-based step, 0 ≤ step &lt; <see cref="Steps"/>.</param>
    public Matrix<T> Output(int step)
    {
        T[] outputs = new T[OutputSize * Batch];
        OutputColumns(CheckStep(step) * Batch, Batch, outputs);
        return Matrix<T>.Build.Dense(OutputSize, Batch, outputs);
    }

    /// <summary>
    /// Runs the next passes over the first <paramref name="steps"/> of the <see cref="Capacity"/> steps: every buffer is
    /// step-major, so a prefix of steps is a prefix of each buffer, and nothing moves.
    /// </summary>
    internal void UseSteps(int steps)
    {
        if (steps < 1 || steps > Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps must be in [1, {Capacity}] (the cache's capacity), but was {steps}.");
        }

        Steps = steps;
        Owner = null;
    }

    /// <summary>
    /// y = g(z) of the <paramref name="count"/> columns from <paramref name="firstColumn"/> (column t·B + b is step t of
    /// sequence b) into <paramref name="destination"/>, O x count, rebuilt from the logits.
    /// </summary>
    internal void OutputColumns(int firstColumn, int count, Span<T> destination) =>
        OutputValues.FromLogits<T>(
            OutputActivation, Logits.AsSpan(firstColumn * OutputSize, count * OutputSize), InverseSums.AsSpan(firstColumn, count), OutputSize, destination);

    /// <summary>The H x B hidden-state block <paramref name="block"/> (0 = h_0) without copying.</summary>
    internal Span<T> HiddenBlock(int block) => Hiddens.AsSpan(block * HiddenSize * Batch, HiddenSize * Batch);

    private int CheckStep(int step)
    {
        if (!IsFilled)
        {
            throw new InvalidOperationException("The cache is empty: run RecurrentLayer.Forward with it first.");
        }

        return (uint)step < (uint)Steps
            ? step
            : throw new ArgumentOutOfRangeException(nameof(step), step, $"step must be in [0, {Steps - 1}], but was {step}.");
    }

    private Matrix<T> Block(T[] slab, int rows, int block)
    {
        if (!IsFilled)
        {
            throw new InvalidOperationException("The cache is empty: run RecurrentLayer.Forward with it first.");
        }

        T[] copy = slab.AsSpan(block * rows * Batch, rows * Batch).ToArray();
        return Matrix<T>.Build.Dense(rows, Batch, copy);
    }
}
