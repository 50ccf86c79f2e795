using System.Globalization;
using RnnCore.Internal;

namespace RnnCore.Initialization;

/// <summary>
/// How one parameter tensor is filled at initialization: PyTorch's default, Xavier/Glorot, orthogonal, a scaled identity
/// (the IRNN), plain uniform or normal, or zeros. Used through <see cref="LayerInitialization"/>, which draws every
/// value from one seeded generator, so the same seed gives bit-identical weights on every machine.
/// </summary>
/// <remarks>
/// Values are computed in double with IEEE basic operations, √ and RnnCore's portable logarithm only (no platform math
/// library), then rounded once to the layer's element type. For a rows x columns matrix, PyTorch's fans are
/// fan_in = columns and fan_out = rows. Xavier, orthogonal and identity need a matrix and are refused for the biases.
/// </remarks>
public abstract class Initializer
{
    private protected Initializer(string name) => Name = name;

    /// <summary>PyTorch's default for <c>nn.RNN</c> and <c>nn.Linear(H, O)</c>: U(−1/√H, 1/√H), H the layer's hidden size.</summary>
    public static Initializer PyTorchDefault { get; } = new UniformInitializer("PyTorchDefault", null, null);

    /// <summary>Every element zero (PyTorch's <c>zeros_</c>): the usual choice for biases.</summary>
    public static Initializer Zeros { get; } = new ConstantInitializer();

    /// <summary>A readable description, e.g. <c>XavierUniform(gain 1)</c>.</summary>
    public string Name { get; }

    /// <summary>True when the initializer needs a matrix (it is refused for the bias vectors).</summary>
    internal virtual bool NeedsMatrix => false;

    /// <summary>U(low, high) for every element.</summary>
    /// <param name="low">Lower bound, finite.</param>
    /// <param name="high">Upper bound, finite and greater than <paramref name="low"/>.</param>
    public static Initializer Uniform(double low, double high)
    {
        if (!double.IsFinite(low) || !double.IsFinite(high) || !(high > low))
        {
            throw new ArgumentOutOfRangeException(nameof(high), high, $"expected finite bounds with low < high, but got [{low}, {high}].");
        }

        return new UniformInitializer(string.Create(CultureInfo.InvariantCulture, $"Uniform({low}, {high})"), low, high);
    }

    /// <summary>N(mean, standardDeviation²) for every element (PyTorch's <c>normal_</c>).</summary>
    /// <param name="standardDeviation">Positive and finite.</param>
    /// <param name="mean">Finite.</param>
    public static Initializer Normal(double standardDeviation, double mean = 0)
    {
        Positive(standardDeviation, nameof(standardDeviation));
        if (!double.IsFinite(mean))
        {
            throw new ArgumentOutOfRangeException(nameof(mean), mean, "mean must be finite.");
        }

        return new NormalInitializer(string.Create(CultureInfo.InvariantCulture, $"Normal(std {standardDeviation}, mean {mean})"), standardDeviation, mean, 0);
    }

    /// <summary>
    /// Xavier/Glorot uniform (PyTorch's <c>xavier_uniform_</c>): U(−a, a) with a = gain · √(6 / (fan_in + fan_out)),
    /// which keeps the variance of activations and of gradients about equal through a linear layer.
    /// </summary>
    /// <param name="gain">Positive and finite; PyTorch's <c>calculate_gain('tanh')</c> is 5/3.</param>
    public static Initializer XavierUniform(double gain = 1)
    {
        Positive(gain, nameof(gain));
        return new XavierUniformInitializer(gain);
    }

    /// <summary>Xavier/Glorot normal (PyTorch's <c>xavier_normal_</c>): N(0, σ²) with σ = gain · √(2 / (fan_in + fan_out)).</summary>
    /// <param name="gain">Positive and finite.</param>
    public static Initializer XavierNormal(double gain = 1)
    {
        Positive(gain, nameof(gain));
        return new NormalInitializer(string.Create(CultureInfo.InvariantCulture, $"XavierNormal(gain {gain})"), 0, 0, gain);
    }

    /// <summary>
    /// A (semi-)orthogonal matrix times <paramref name="gain"/> (PyTorch's <c>orthogonal_</c>, Saxe et al. 2014): the Q
    /// of the QR factorization of a standard normal matrix, with R's diagonal made positive. For W_h every singular
    /// value is then exactly the gain, so the linear part of the recurrence neither shrinks nor grows gradients.
    /// </summary>
    /// <param name="gain">Positive and finite.</param>
    public static Initializer Orthogonal(double gain = 1)
    {
        Positive(gain, nameof(gain));
        return new OrthogonalInitializer(gain);
    }

    /// <summary>
    /// <paramref name="scale"/> on the diagonal, zero elsewhere (PyTorch's <c>eye_</c>, scaled). With ReLU and W_h = I,
    /// b_h = 0 this is the IRNN of Le, Jaitly and Hinton (2015): at initialization the hidden state is carried unchanged,
    /// so gradients neither vanish nor explode through time.
    /// </summary>
    /// <param name="scale">Finite (Le et al. also try 0.01 · I for some tasks).</param>
    public static Initializer Identity(double scale = 1)
    {
        if (!double.IsFinite(scale))
        {
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be finite.");
        }

        return new IdentityInitializer(scale);
    }

    /// <summary>The <see cref="Name"/>.</summary>
    public override string ToString() => Name;

    /// <summary>Fills a column-major rows x columns block (columns = 1 for a vector) in double.</summary>
    internal abstract void Fill(Span<double> values, int rows, int columns, int hiddenSize, SeededRandom random);

    /// <summary>
    /// Fills one parameter tensor, rows x columns column-major, rounding once to T. With <paramref name="blocks"/> &gt; 1
    /// a matrix initializer (Xavier, orthogonal, identity) sees each of the blocks of rows / blocks consecutive rows (a
    /// gate block of W_hh) as its own matrix, filled in block order; an element-wise one (uniform, normal, zeros) draws
    /// the whole tensor in column-major order, the same distribution (and PyTorchDefault's draws stay the constructors').
    /// <paramref name="hiddenSize"/> is the k of PyTorchDefault's U(−1/√k, 1/√k).
    /// </summary>
    internal void FillTensor<T>(Span<T> destination, int rows, int columns, int blocks, int hiddenSize, SeededRandom random)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int blockRows = NeedsMatrix ? rows / blocks : rows;
        double[] values = new double[blockRows * columns];
        for (int b = 0; b < rows / blockRows; b++)
        {
            Fill(values, blockRows, columns, hiddenSize, random);
            for (int j = 0; j < columns; j++)
            {
                for (int i = 0; i < blockRows; i++)
                {
                    destination[(b * blockRows) + i + (j * rows)] = T.CreateTruncating(values[i + (j * blockRows)]);
                }
            }
        }
    }

    private static void Positive(double value, string name)
    {
        if (!(value > 0) || !double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive and finite, but was {value}.");
        }
    }

    private sealed class UniformInitializer(string name, double? low, double? high) : Initializer(name)
    {
        internal override void Fill(Span<double> values, int rows, int columns, int hiddenSize, SeededRandom random)
        {
            // PyTorchDefault: k = 1/√H, drawn exactly as the RecurrentLayer constructor draws.
            double bound = 1.0 / Math.Sqrt(hiddenSize);
            double lo = low ?? -bound;
            double hi = high ?? bound;
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = random.NextUniform(lo, hi);
            }
        }
    }

    private sealed class ConstantInitializer() : Initializer("Zeros")
    {
        internal override void Fill(Span<double> values, int rows, int columns, int hiddenSize, SeededRandom random) => values.Clear();
    }

    private sealed class XavierUniformInitializer(double gain)
        : Initializer(string.Create(CultureInfo.InvariantCulture, $"XavierUniform(gain {gain})"))
    {
        internal override bool NeedsMatrix => true;

        internal override void Fill(Span<double> values, int rows, int columns, int hiddenSize, SeededRandom random)
        {
            double bound = gain * Math.Sqrt(6.0 / (rows + columns));
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = random.NextUniform(-bound, bound);
            }
        }
    }

    /// <summary>N(mean, std²); when xavierGain is positive, std = gain · √(2 / (fan_in + fan_out)) instead.</summary>
    private sealed class NormalInitializer(string name, double standardDeviation, double mean, double xavierGain) : Initializer(name)
    {
        internal override bool NeedsMatrix => xavierGain > 0;

        internal override void Fill(Span<double> values, int rows, int columns, int hiddenSize, SeededRandom random)
        {
            double std = xavierGain > 0 ? xavierGain * Math.Sqrt(2.0 / (rows + columns)) : standardDeviation;
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = mean + (std * random.NextGaussian());
            }
        }
    }

    private sealed class IdentityInitializer(double scale)
        : Initializer(string.Create(CultureInfo.InvariantCulture, $"Identity(scale {scale})"))
    {
        internal override bool NeedsMatrix => true;

        internal override void Fill(Span<double> values, int rows, int columns, int hiddenSize, SeededRandom random)
        {
            values.Clear();
            for (int i = 0; i < Math.Min(rows, columns); i++)
            {
                values[i + (i * rows)] = scale;
            }
        }
    }

    private sealed class OrthogonalInitializer(double gain)
        : Initializer(string.Create(CultureInfo.InvariantCulture, $"Orthogonal(gain {gain})"))
    {
        internal override bool NeedsMatrix => true;

        internal override void Fill(Span<double> values, int rows, int columns, int hiddenSize, SeededRandom random)
        {
            // Work on a tall m x n matrix (m ≥ n): the matrix itself, or its transpose when it is wide (as PyTorch does).
            bool wide = rows < columns;
            int m = wide ? columns : rows;
            int n = wide ? rows : columns;
            double[] q = new double[m * n];
            for (int i = 0; i < q.Length; i++)
            {
                q[i] = random.NextGaussian();
            }

            // Modified Gram-Schmidt, run twice ("twice is enough", Giraud et al. 2005) for orthogonality to rounding.
            // Each column is divided by its own positive norm, so R's diagonal is positive: PyTorch's Q · sign(diag R).
            for (int j = 0; j < n; j++)
            {
                Span<double> v = q.AsSpan(j * m, m);
                for (int pass = 0; pass < 2; pass++)
                {
                    for (int i = 0; i < j; i++)
                    {
                        ReadOnlySpan<double> qi = q.AsSpan(i * m, m);
                        double r = 0;
                        for (int k = 0; k < m; k++)
                        {
                            r += qi[k] * v[k];
                        }

                        for (int k = 0; k < m; k++)
                        {
                            v[k] -= r * qi[k];
                        }
                    }
                }

                double norm = 0;
                for (int k = 0; k < m; k++)
                {
                    norm += v[k] * v[k];
                }

                norm = Math.Sqrt(norm);
                for (int k = 0; k < m; k++)
                {
                    v[k] /= norm;
                }
            }

            for (int j = 0; j < columns; j++)
            {
                for (int i = 0; i < rows; i++)
                {
                    // Element (i, j) of the result: Q[i, j], or Q[j, i] for a wide matrix.
                    values[i + (j * rows)] = gain * (wide ? q[j + (i * m)] : q[i + (j * m)]);
                }
            }
        }
    }
}
