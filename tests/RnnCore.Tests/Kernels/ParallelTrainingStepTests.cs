using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Kernels;

/// <summary>
/// The whole training step is bit-identical for every <see cref="RnnCoreSettings.MaxDegreeOfParallelism"/>: with H = 256
/// and B = 32 each recurrent product is large enough to be split between threads (and the activation fused into each
/// thread's epilogue), yet hidden states, outputs, loss and every gradient keep their bits. With 70 steps (2240 columns)
/// BPTT walks the sequence in two time chunks and sums the weight gradients over them, in the same order on every count.
/// </summary>
[Collection(ProcessSettingsCollection.Name)]
public abstract class ParallelTrainingStepTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int InputSize = 20, HiddenSize = 256, OutputSize = 12, Steps = 4, Batch = 32;

    [Theory]
    [InlineData(HiddenActivation.Tanh, Steps)]
    [InlineData(HiddenActivation.Relu, Steps)]
    [InlineData(HiddenActivation.Tanh, 70)]
    public void Forward_and_bptt_give_identical_bits_on_one_two_and_three_threads(HiddenActivation activation, int steps)
    {
        var random = new Random(8);
        var layer = new RecurrentLayer<T>(InputSize, HiddenSize, OutputSize, activation, OutputActivation.Softmax, seed: 4);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, InputSize, steps, Batch);
        SequenceTargets<T> targets = RandomProblems.Targets(random, layer, steps, Batch, LossPlacement.EveryStep);
        var bptt = new Bptt<T>(layer, LossPlacement.EveryStep, LossReduction.Mean);
        int before = RnnCoreSettings.MaxDegreeOfParallelism;
        try
        {
            (T[] Hidden, T[][] Gradients)? first = null;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                RnnCoreSettings.MaxDegreeOfParallelism = threads;
                ForwardCache<T> cache = layer.Forward(inputs);
                RecurrentGradients<T> gradients = bptt.Backward(cache, targets);
                T[] hidden = Enumerable.Range(0, steps).SelectMany(t => cache.Hidden(t).ToColumnMajorArray()).ToArray();
                T[][] all = Enumerable.Range(0, gradients.ParameterGradients.Count).Select(i => gradients.ParameterGradients[i].ToArray())
                    .Append(gradients.InitialHidden(0).ToColumnMajorArray()).Append([gradients.Loss]).ToArray();
                first ??= (hidden, all);
                hidden.Should().Equal(first.Value.Hidden, $"hidden states with {threads} threads");
                for (int i = 0; i < all.Length; i++)
                {
                    all[i].Should().Equal(first.Value.Gradients[i], $"gradient {i} with {threads} threads");
                }
            }
        }
        finally
        {
            RnnCoreSettings.MaxDegreeOfParallelism = before;
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void An_overflow_before_tanh_is_reported_even_though_tanh_would_hide_it(int threads)
    {
        // tanh(∞) = 1: the check must run on a_t, before the fused activation, in whichever thread computed the column.
        var layer = new RecurrentLayer<T>(InputSize, HiddenSize, OutputSize, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 4);
        layer.Wx[200, 3] = T.CreateTruncating(typeof(T) == typeof(float) ? 3e38 : 1.7e308);
        List<Matrix<T>> inputs = Enumerable.Range(0, Steps).Select(_ => Matrix<T>.Build.Dense(InputSize, Batch, T.Zero)).ToList();
        inputs[2][3, 29] = T.CreateTruncating(10);
        int before = RnnCoreSettings.MaxDegreeOfParallelism;
        try
        {
            RnnCoreSettings.MaxDegreeOfParallelism = threads;
            Action forward = () => layer.Forward(inputs);
            forward.Should().Throw<NonFiniteValueException>()
                .Where(e => e.Step == 2 && e.Quantity == "pre-activation a_t")
                .WithMessage("*row 200, sequence 29*");
        }
        finally
        {
            RnnCoreSettings.MaxDegreeOfParallelism = before;
        }
    }
}

public sealed class ParallelTrainingStepTestsSingle : ParallelTrainingStepTests<float>;

public sealed class ParallelTrainingStepTestsDouble : ParallelTrainingStepTests<double>;
