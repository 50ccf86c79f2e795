using System.Numerics;
using System.Numerics.Tensors;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests;

/// <summary>
/// The caches keep no slab of outputs: y = g(z) is rebuilt from the logits wherever it is read. These tests hold the
/// rebuilt y to what the forward pass used to store, bit for bit, written here as it was written there.
/// </summary>
public abstract class OutputValuesTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [Theory]
    [InlineData(OutputActivation.Softmax, 7)]
    [InlineData(OutputActivation.Softmax, 37)]
    [InlineData(OutputActivation.Sigmoid, 7)]
    [InlineData(OutputActivation.Identity, 7)]
    public void A_layer_caches_outputs_are_g_of_its_logits_bit_for_bit(OutputActivation activation, int outputSize)
    {
        var random = new Random(11);
        var layer = new RecurrentLayer<T>(4, 9, outputSize, HiddenActivation.Tanh, activation, seed: 3);
        ForwardCache<T> cache = layer.Forward(RandomProblems.Inputs<T>(random, 4, 6, 5, scale: 3));
        for (int t = 0; t < cache.Steps; t++)
        {
            cache.Output(t).ToColumnMajorArray().Should().Equal(StoredOutputs(activation, cache.Logit(t)), "step {0}", t);
        }
    }

    [Theory]
    [InlineData(OutputActivation.Softmax)]
    [InlineData(OutputActivation.Sigmoid)]
    [InlineData(OutputActivation.Identity)]
    public void A_models_cache_outputs_are_g_of_its_logits_bit_for_bit(OutputActivation activation)
    {
        var random = new Random(12);
        var model = new RecurrentModel<T>(new RecurrentModelOptions(4, 9, 7) { Cell = RecurrentCellKind.Gru, OutputActivation = activation, Seed = 3 });
        ForwardCache<T> cache = model.CreateCache(6, 5);
        model.Forward(RandomProblems.Inputs<T>(random, 4, 6, 5, scale: 3), cache);
        for (int t = 0; t < cache.Steps; t++)
        {
            cache.Output(t).ToColumnMajorArray().Should().Equal(StoredOutputs(activation, cache.Logit(t)), "position {0}", t);
        }
    }

    /// <summary>
    /// y as the forward pass stored it before the outputs slab was dropped: per column y = e^(z − max z) · (1 / Σ), the
    /// sum taken over that column alone (O ≤ 64 here, below the length where a vectorised sum starts to depend on the
    /// alignment of its span); σ(z) in the overflow-free form; z itself.
    /// </summary>
    private static T[] StoredOutputs(OutputActivation activation, Matrix<T> logits)
    {
        T[] z = logits.ToColumnMajorArray();
        var y = new T[z.Length];
        int rows = logits.RowCount;
        for (int column = 0; column < z.Length; column += rows)
        {
            ReadOnlySpan<T> zc = z.AsSpan(column, rows);
            Span<T> yc = y.AsSpan(column, rows);
            switch (activation)
            {
                case OutputActivation.Softmax:
                    T max = TensorPrimitives.Max(zc);
                    TensorPrimitives.Subtract(zc, max, yc);
                    TensorPrimitives.Exp<T>(yc, yc);
                    T sum = TensorPrimitives.Sum<T>(yc);
                    TensorPrimitives.Multiply(yc, T.One / sum, yc);
                    break;
                case OutputActivation.Sigmoid:
                    for (int i = 0; i < rows; i++)
                    {
                        yc[i] = zc[i] >= T.Zero ? T.One / (T.One + T.Exp(-zc[i])) : T.Exp(zc[i]) / (T.One + T.Exp(zc[i]));
                    }

                    break;
                default:
                    zc.CopyTo(yc);
                    break;
            }
        }

        return y;
    }
}

public sealed class OutputValuesTestsDouble : OutputValuesTests<double>;

public sealed class OutputValuesTestsSingle : OutputValuesTests<float>;
