using RnnCore.Internal;
using RnnCore.Models;

namespace RnnCore.Initialization;

/// <summary>
/// One <see cref="Initializer"/> per parameter of a <see cref="RecurrentLayer{T}"/>, applied from a seed by
/// <see cref="Apply{T}"/>. Presets: <see cref="PyTorchDefault"/>, <see cref="Xavier"/>, <see cref="Orthogonal"/> and
/// <see cref="Irnn"/>.
/// </summary>
/// <remarks>
/// All values come from one xoshiro256** stream seeded by the seed, drawn in the order W_x, W_h, W_y, b_h, b_y, each in
/// column-major order (zeros and identity draw nothing), so <see cref="PyTorchDefault"/> reproduces the
/// <see cref="RecurrentLayer{T}"/> constructor's weights for the same seed bit for bit, and the same seed gives
/// bit-identical weights on every machine.
/// </remarks>
public sealed class LayerInitialization
{
    /// <summary>W_x, input to hidden [H, I]. Default: <see cref="Initializer.PyTorchDefault"/>.</summary>
    public Initializer Wx { get; init; } = Initializer.PyTorchDefault;

    /// <summary>W_h, hidden to hidden [H, H]. Default: <see cref="Initializer.PyTorchDefault"/>.</summary>
    public Initializer Wh { get; init; } = Initializer.PyTorchDefault;

    /// <summary>W_y, hidden to output [O, H]. Default: <see cref="Initializer.PyTorchDefault"/>.</summary>
    public Initializer Wy { get; init; } = Initializer.PyTorchDefault;

    /// <summary>b_h [H]. Default: <see cref="Initializer.PyTorchDefault"/>.</summary>
    public Initializer Bh { get; init; } = Initializer.PyTorchDefault;

    /// <summary>b_y [O]. Default: <see cref="Initializer.PyTorchDefault"/>.</summary>
    public Initializer By { get; init; } = Initializer.PyTorchDefault;

    /// <summary>Everything U(−1/√H, 1/√H), as PyTorch's <c>nn.RNN</c> and <c>nn.Linear</c> (and the layer's constructor).</summary>
    public static LayerInitialization PyTorchDefault { get; } = new();

    /// <summary>Xavier/Glorot uniform weights (gain 1) and zero biases.</summary>
    public static LayerInitialization Xavier { get; } = new()
    {
        Wx = Initializer.XavierUniform(), Wh = Initializer.XavierUniform(), Wy = Initializer.XavierUniform(), Bh = Initializer.Zeros, By = Initializer.Zeros,
    };

    /// <summary>Orthogonal W_h (gain 1), Xavier uniform W_x and W_y, zero biases.</summary>
    public static LayerInitialization Orthogonal { get; } = new()
    {
        Wx = Initializer.XavierUniform(), Wh = Initializer.Orthogonal(), Wy = Initializer.XavierUniform(), Bh = Initializer.Zeros, By = Initializer.Zeros,
    };

    /// <summary>
    /// The IRNN of Le, Jaitly and Hinton (2015), for a ReLU layer: W_h = <paramref name="recurrentScale"/> · I, zero
    /// biases, and W_x, W_y from N(0, <paramref name="weightStandardDeviation"/>²) (the paper uses 0.001).
    /// </summary>
    /// <param name="weightStandardDeviation">σ of W_x and W_y; positive and finite.</param>
    /// <param name="recurrentScale">The diagonal of W_h; finite.</param>
    /// <returns>The scheme.</returns>
    public static LayerInitialization Irnn(double weightStandardDeviation = 0.001, double recurrentScale = 1) => new()
    {
        Wx = Initializer.Normal(weightStandardDeviation),
        Wh = Initializer.Identity(recurrentScale),
        Wy = Initializer.Normal(weightStandardDeviation),
        Bh = Initializer.Zeros,
        By = Initializer.Zeros,
    };

    /// <summary>Overwrites every parameter of <paramref name="layer"/> from <paramref name="seed"/>.</summary>
    /// <typeparam name="T">The layer's element type.</typeparam>
    /// <param name="layer">The layer, changed in place.</param>
    /// <param name="seed">The seed of the one generator all values are drawn from.</param>
    /// <exception cref="ArgumentException">A matrix-only initializer (Xavier, orthogonal, identity) was given for a bias; nothing is changed.</exception>
    public void Apply<T>(RecurrentLayer<T> layer, long seed)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        Initializer[] initializers = [Wx, Wh, Wy, Bh, By];
        for (int p = 3; p < 5; p++)
        {
            if (initializers[p] is null || initializers[p].NeedsMatrix)
            {
                throw new ArgumentException(
                    $"{Models.NetworkTensors.LayerNames[p]} is a vector but {initializers[p]?.Name ?? "null"} needs a matrix; use Zeros, PyTorchDefault, Uniform or Normal.",
                    Models.NetworkTensors.LayerNames[p]);
            }
        }

        for (int p = 0; p < 3; p++)
        {
            ArgumentNullException.ThrowIfNull(initializers[p], Models.NetworkTensors.LayerNames[p]);
        }

        (int Rows, int Columns)[] shapes =
        [
            (layer.HiddenSize, layer.InputSize), (layer.HiddenSize, layer.HiddenSize), (layer.OutputSize, layer.HiddenSize),
            (layer.HiddenSize, 1), (layer.OutputSize, 1),
        ];
        var random = new SeededRandom(seed);
        for (int p = 0; p < 5; p++)
        {
            initializers[p].FillTensor(layer.Parameters[p], shapes[p].Rows, shapes[p].Columns, 1, layer.HiddenSize, random);
        }
    }
}
