using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Initialization;
using RnnCore.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Initialization;

/// <summary>Every initializer's distribution and structure, seeded reproducibility, and refusals; float and double.</summary>
public abstract class InitializerTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static TheoryData<string> Schemes() => new(["PyTorchDefault", "Xavier", "Orthogonal", "Irnn", "XavierNormal"]);

    [Fact]
    public void PyTorchDefault_reproduces_the_constructor_bit_for_bit()
    {
        var expected = new RecurrentLayer<T>(5, 7, 3, seed: 42);
        var layer = new RecurrentLayer<T>(5, 7, 3, seed: 1);
        LayerInitialization.PyTorchDefault.Apply(layer, 42);
        for (int i = 0; i < 5; i++)
        {
            layer.Parameters[i].ToArray().Should().Equal(expected.Parameters[i].ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Schemes))]
    public void The_same_seed_gives_the_same_weights_and_another_seed_others(string scheme)
    {
        T[][] a = Initialized(scheme, 42), b = Initialized(scheme, 42), c = Initialized(scheme, 43);
        for (int i = 0; i < 5; i++)
        {
            a[i].Should().Equal(b[i]);
        }

        // Every scheme has at least W_x drawn at random.
        a[0].Should().NotEqual(c[0]);
    }

    [Fact]
    public void Xavier_uniform_stays_within_its_bound_and_has_its_variance()
    {
        var layer = new RecurrentLayer<T>(100, 200, 10);
        LayerInitialization.Xavier.Apply(layer, 3);
        double bound = Math.Sqrt(6.0 / 300);
        double[] wx = Doubles(layer.Wx);
        wx.Should().OnlyContain(v => Math.Abs(v) <= bound);
        Variance(wx).Should().BeApproximately(bound * bound / 3, 0.03 * bound * bound / 3, "U(−a, a) has variance a²/3 = 2 / (fan_in + fan_out)");
        Doubles(layer.Bh).Should().OnlyContain(v => v == 0);
    }

    [Fact]
    public void Xavier_normal_has_its_standard_deviation()
    {
        var layer = new RecurrentLayer<T>(100, 200, 10);
        new LayerInitialization { Wx = Initializer.XavierNormal(2), Bh = Initializer.Zeros }.Apply(layer, 5);
        double std = 2 * Math.Sqrt(2.0 / 300);
        double[] wx = Doubles(layer.Wx);
        wx.Average().Should().BeApproximately(0, 0.01 * std * 10);
        Math.Sqrt(Variance(wx)).Should().BeApproximately(std, 0.02 * std);
    }

    [Theory]
    [InlineData(6, 6)]
    [InlineData(9, 4)]
    [InlineData(4, 9)]
    public void Orthogonal_gives_orthonormal_columns_or_rows_times_the_gain(int hidden, int input)
    {
        var layer = new RecurrentLayer<T>(input, hidden, 2);
        new LayerInitialization { Wx = Initializer.Orthogonal(1.5), Wh = Initializer.Orthogonal() }.Apply(layer, 8);
        Matrix<double> wx = Matrix<double>.Build.Dense(hidden, input, Doubles(layer.Wx));
        Matrix<double> gram = hidden >= input ? wx.TransposeThisAndMultiply(wx) : wx.TransposeAndMultiply(wx);
        Matrix<double> expected = Matrix<double>.Build.DenseIdentity(Math.Min(hidden, input)) * 2.25;
        (gram - expected).Enumerate().Max(Math.Abs).Should().BeLessThan(Precision);
        Matrix<double> wh = Matrix<double>.Build.Dense(hidden, hidden, Doubles(layer.Wh));
        (wh.TransposeThisAndMultiply(wh) - Matrix<double>.Build.DenseIdentity(hidden)).Enumerate().Max(Math.Abs).Should().BeLessThan(Precision);
    }

    [Fact]
    public void Irnn_sets_W_h_to_the_scaled_identity_zero_biases_and_small_weights()
    {
        var layer = new RecurrentLayer<T>(50, 40, 30, HiddenActivation.Relu, OutputActivation.Identity);
        LayerInitialization.Irnn(weightStandardDeviation: 0.01, recurrentScale: 0.5).Apply(layer, 1);
        for (int i = 0; i < 40; i++)
        {
            for (int j = 0; j < 40; j++)
            {
                double.CreateTruncating(layer.Wh[i, j]).Should().Be(i == j ? 0.5 : 0);
            }
        }

        Doubles(layer.Bh).Concat(Doubles(layer.By)).Should().OnlyContain(v => v == 0);
        Math.Sqrt(Variance(Doubles(layer.Wx))).Should().BeApproximately(0.01, 0.0005);
        Math.Sqrt(Variance(Doubles(layer.Wy))).Should().BeApproximately(0.01, 0.0005);
    }

    [Fact]
    public void A_matrix_initializer_for_a_bias_is_refused_and_nothing_changes()
    {
        var layer = new RecurrentLayer<T>(3, 4, 2, seed: 1);
        T[][] before = RandomProblems.Snapshot(layer);
        Action act = () => new LayerInitialization { Wx = Initializer.Zeros, By = Initializer.Orthogonal() }.Apply(layer, 2);
        act.Should().Throw<ArgumentException>().WithParameterName("By").WithMessage("By is a vector but Orthogonal(gain 1) needs a matrix*");
        RandomProblems.ShouldBeUnchanged(layer, before);
    }

    [Fact]
    public void Bad_options_are_refused()
    {
        ((Action)(() => Initializer.XavierUniform(0))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("gain");
        ((Action)(() => Initializer.Normal(-1))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("standardDeviation");
        ((Action)(() => Initializer.Uniform(1, 1))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => Initializer.Identity(double.NaN))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("scale");
    }

    private static double Precision => typeof(T) == typeof(float) ? 1e-5 : 1e-13;

    private static T[][] Initialized(string scheme, long seed)
    {
        var layer = new RecurrentLayer<T>(4, 6, 3, HiddenActivation.Relu, OutputActivation.Identity);
        LayerInitialization init = scheme switch
        {
            "Xavier" => LayerInitialization.Xavier,
            "Orthogonal" => LayerInitialization.Orthogonal,
            "Irnn" => LayerInitialization.Irnn(),
            "XavierNormal" => new LayerInitialization { Wx = Initializer.XavierNormal(), Wh = Initializer.XavierNormal(), Wy = Initializer.XavierNormal() },
            _ => LayerInitialization.PyTorchDefault,
        };
        init.Apply(layer, seed);
        return RandomProblems.Snapshot(layer);
    }

    private static double[] Doubles(Matrix<T> m) => m.ToColumnMajorArray().Select(double.CreateTruncating).ToArray();

    private static double[] Doubles(MathNet.Numerics.LinearAlgebra.Vector<T> v) => v.Select(double.CreateTruncating).ToArray();

    private static double Variance(double[] values)
    {
        double mean = values.Average();
        return values.Sum(v => (v - mean) * (v - mean)) / values.Length;
    }
}

public sealed class InitializerTestsDouble : InitializerTests<double>;

public sealed class InitializerTestsSingle : InitializerTests<float>;
