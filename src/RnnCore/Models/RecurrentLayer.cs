using MathNet.Numerics.LinearAlgebra;
using RnnCore.Internal;

namespace RnnCore.Models;

/// <summary>
/// A vanilla (Elman) recurrent layer with its output layer: the simplest <see cref="RecurrentModel{T}"/>, one layer of
/// the vanilla cell in one direction, with one fused hidden bias:
/// <code>
/// a_t = W_x x_t + W_h h_{t−1} + b_h      h_t = f(a_t),  f ∈ {tanh, relu}
/// z_t = W_y h_t + b_y                    y_t = g(z_t),  g ∈ {identity, sigmoid, softmax}
/// </code>
/// <see cref="RecurrentModel{T}.Forward(IReadOnlyList{Matrix{T}}, ForwardCache{T}, IReadOnlyList{Matrix{T}}?, IReadOnlyList{Matrix{T}}?, IReadOnlyList{int}?, bool)"/>
/// unrolls the recurrence over a batch of sequences into a <see cref="ForwardCache{T}"/>; <see cref="Bptt{T}"/> walks
/// that cache back to gradients. Every API that takes a network (Trainer, Sampler, prediction, GradientCheck) takes it.
/// </summary>
/// <remarks>
/// <para>
/// Shapes: W_x is H x I, W_h is H x H, W_y is O x H, b_h has length H, b_y length O (one hidden bias: PyTorch's
/// <c>bias_ih + bias_hh</c>). <see cref="RecurrentModel{T}.Parameters"/> holds them in that order, named
/// <c>Wx</c>, <c>Wh</c>, <c>Wy</c>, <c>Bh</c>, <c>By</c>. A batch holds B independent sequences; the input at a step is
/// an I x B matrix, one column per sequence, so that <c>W_x x_t</c> is a plain matrix product.
/// </para>
/// <para>
/// The parameter properties are the live storage, not copies: changing an element of <see cref="Wx"/> changes the layer.
/// Thread safety: an inference <c>Forward</c> only reads the parameters, so any number of threads may call it at once,
/// each with its own <see cref="ForwardCache{T}"/>. Updating the parameters (an optimizer step, or writing to them) must
/// not overlap with any other call.
/// </para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>; any other type is refused.</typeparam>
public sealed class RecurrentLayer<T> : RecurrentModel<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    /// <summary>
    /// Creates a layer with PyTorch's default initialization: every parameter drawn from U(−1/√H, 1/√H) by RnnCore's own
    /// seeded generator, in the order W_x, W_h, W_y, b_h, b_y (each in column-major order), so that the same seed gives
    /// bit-identical weights on every machine.
    /// </summary>
    /// <param name="inputSize">I, the length of each input vector x_t; positive.</param>
    /// <param name="hiddenSize">H, the length of the hidden state h_t; positive.</param>
    /// <param name="outputSize">O, the length of each output y_t (the number of classes for softmax); positive.</param>
    /// <param name="hiddenActivation">f: tanh (default) or ReLU.</param>
    /// <param name="outputActivation">g, which also chooses the loss: softmax (default, cross-entropy), sigmoid (binary cross-entropy) or identity (squared error).</param>
    /// <param name="seed">Seed of the initialization.</param>
    /// <exception cref="NotSupportedException">T is neither float nor double.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, an activation is not a defined value, or a softmax output has fewer than 2 classes (one binary output is <see cref="OutputActivation.Sigmoid"/>).</exception>
    public RecurrentLayer(
        int inputSize,
        int hiddenSize,
        int outputSize,
        HiddenActivation hiddenActivation = HiddenActivation.Tanh,
        OutputActivation outputActivation = OutputActivation.Softmax,
        int seed = 0)
        : base(LayerOptions(inputSize, hiddenSize, outputSize, hiddenActivation, outputActivation, seed), fusedBias: true)
    {
        Wx = Parameter("Wx");
        Wh = Parameter("Wh");
        Wy = Parameter("Wy");
        Bh = Vector<T>.Build.Dense(ParameterArray(3));
        By = Vector<T>.Build.Dense(ParameterArray(4));
    }

    /// <summary>The layer's cell: the vanilla (Elman) cell, by definition.</summary>
    internal const RecurrentCellKind CellKind = RecurrentCellKind.Vanilla;

    /// <summary>The hidden activation f.</summary>
    public HiddenActivation HiddenActivation => Options.HiddenActivation;

    /// <summary>The output activation g (which also determines the loss).</summary>
    public OutputActivation OutputActivation => Options.OutputActivation;

    /// <summary>W_x, the input-to-hidden weights, [hiddenSize, inputSize]. Live storage.</summary>
    public Matrix<T> Wx { get; }

    /// <summary>W_h, the hidden-to-hidden (recurrent) weights, [hiddenSize, hiddenSize]. Live storage.</summary>
    public Matrix<T> Wh { get; }

    /// <summary>W_y, the hidden-to-output weights, [outputSize, hiddenSize]. Live storage.</summary>
    public Matrix<T> Wy { get; }

    /// <summary>b_h, the hidden bias, [hiddenSize]. Live storage.</summary>
    public Vector<T> Bh { get; }

    /// <summary>b_y, the output bias, [outputSize]. Live storage.</summary>
    public Vector<T> By { get; }

    /// <summary>Why a softmax output needs O ≥ 2, and what to use instead.</summary>
    internal static string SoftmaxNeedsTwoClasses(int outputSize) =>
        $"a softmax output needs at least 2 classes but outputSize is {outputSize}: softmax over one output is always 1, so the loss is 0 and nothing is learned. " +
        "For one yes/no output use OutputActivation.Sigmoid (binary cross-entropy), for one value OutputActivation.Identity.";

    /// <summary>Checks the layer's arguments by their own names, then describes it as a one-layer vanilla network.</summary>
    private static RecurrentModelOptions LayerOptions(
        int inputSize, int hiddenSize, int outputSize, HiddenActivation hiddenActivation, OutputActivation outputActivation, int seed)
    {
        Guard.RequireSupportedElementType<T>();
        Guard.Positive(inputSize, nameof(inputSize));
        Guard.Positive(hiddenSize, nameof(hiddenSize));
        Guard.Positive(outputSize, nameof(outputSize));
        if (!Enum.IsDefined(hiddenActivation))
        {
            throw new ArgumentOutOfRangeException(nameof(hiddenActivation), hiddenActivation, "expected Tanh or Relu.");
        }

        if (!Enum.IsDefined(outputActivation))
        {
            throw new ArgumentOutOfRangeException(nameof(outputActivation), outputActivation, "expected Identity, Sigmoid or Softmax.");
        }

        if (outputActivation == OutputActivation.Softmax && outputSize < 2)
        {
            // softmax over one output is exp(z)/exp(z) = 1 whatever z: the loss is 0 and nothing is learned.
            throw new ArgumentOutOfRangeException(nameof(outputSize), outputSize, SoftmaxNeedsTwoClasses(outputSize));
        }

        const string smaller = "Use a smaller hiddenSize, inputSize or outputSize.";
        _ = Guard.ElementCount<T>(hiddenSize, inputSize, "Wx", smaller);
        _ = Guard.ElementCount<T>(hiddenSize, hiddenSize, "Wh", smaller);
        _ = Guard.ElementCount<T>(outputSize, hiddenSize, "Wy", smaller);
        return new RecurrentModelOptions(inputSize, hiddenSize, outputSize)
        {
            Cell = CellKind,
            HiddenActivation = hiddenActivation,
            OutputActivation = outputActivation,
            Seed = seed,
        };
    }
}
