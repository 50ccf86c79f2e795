using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests;

/// <summary>
/// BPTT walks the time axis in chunks (about 1024 columns each at real sizes; here forced small, so that small problems
/// run in many chunks): the chunks may change only the summation order of the weight gradients. The loss, dL/dh_0 and
/// every norm of dL/dh_t keep their bits, and the weight gradients agree with the one-chunk walk to rounding.
/// </summary>
public abstract class BpttChunkTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int InputSize = 3, HiddenSize = 6, OutputSize = 4, Steps = 11, Batch = 3;

    public static TheoryData<HiddenActivation, OutputActivation, LossPlacement, LossReduction, bool> Configurations()
    {
        var data = new TheoryData<HiddenActivation, OutputActivation, LossPlacement, LossReduction, bool>();
        foreach (HiddenActivation hidden in Enum.GetValues<HiddenActivation>())
        {
            foreach (OutputActivation output in Enum.GetValues<OutputActivation>())
            {
                foreach (LossPlacement placement in Enum.GetValues<LossPlacement>())
                {
                    data.Add(hidden, output, placement, LossReduction.Mean, false);
                    data.Add(hidden, output, placement, LossReduction.Sum, true);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Chunks_change_only_the_summation_order_of_the_weight_gradients(
        HiddenActivation hidden, OutputActivation output, LossPlacement placement, LossReduction reduction, bool padded)
    {
        var random = new Random(21);
        var layer = new RecurrentLayer<T>(InputSize, HiddenSize, OutputSize, hidden, output, seed: 6);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, InputSize, Steps, Batch);
        Matrix<T> h0 = RandomProblems.Hidden<T>(random, HiddenSize, Batch);
        SequenceTargets<T> targets = RandomProblems.Targets(random, layer, Steps, Batch, placement);
        ForwardCache<T> cache = layer.CreateCache(Steps, Batch);
        layer.Forward(inputs, cache, [h0], null, padded ? [11, 4, 8] : null);

        RecurrentGradients<T> whole = Backward(layer, placement, reduction, cache, targets, int.MaxValue);

        // One step per chunk (11 chunks), then chunks of 3 and 4 steps (⌊33 / 9⌋ = 3 chunks of 3, 4 and 4 steps).
        foreach (int chunkColumns in new[] { 1, 3 * Batch })
        {
            RecurrentGradients<T> chunked = Backward(layer, placement, reduction, cache, targets, chunkColumns);
            chunked.Loss.Should().Be(whole.Loss, "the loss is summed in step order whatever the chunks");
            chunked.DhNorms(0, 0).Should().Equal(whole.DhNorms(0, 0), "dL/dh_t does not depend on the chunks ({0} columns)", chunkColumns);
            chunked.InitialHidden(0).ToColumnMajorArray().Should().Equal(whole.InitialHidden(0).ToColumnMajorArray(), "dL/dh_0 ({0} columns)", chunkColumns);
            Tolerance.AssertClose($"chunks of {chunkColumns} columns", whole.ParameterGradients, chunked.ParameterGradients, Epsilon);
        }
    }

    [Fact]
    public void A_steady_state_backward_in_many_chunks_allocates_nothing()
    {
        var random = new Random(5);
        var layer = new RecurrentLayer<T>(InputSize, HiddenSize, OutputSize, seed: 2);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, InputSize, Steps, Batch);
        SequenceTargets<T> targets = RandomProblems.Targets(random, layer, Steps, Batch, LossPlacement.EveryStep);
        var bptt = new Bptt<T>(layer) { ChunkColumns = 2 * Batch };
        ForwardCache<T> cache = layer.CreateCache(Steps, Batch);
        RecurrentGradients<T> gradients = layer.CreateGradients(Steps, Batch);
        Allocations.OfSteadyState(() =>
        {
            layer.Forward(inputs, cache);
            bptt.Backward(cache, targets, gradients);
        }).Should().Be(0);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2047, 1, 1)]
    [InlineData(2048, 1, 2)]
    [InlineData(128, 64, 8)]
    [InlineData(64, 128, 8)]
    [InlineData(100, 48, 4)]
    [InlineData(3, 5000, 3)]
    public void Chunks_are_about_1024_columns_and_cover_every_step_once(int steps, int batch, int expectedChunks)
    {
        int chunks = Internal.TimeChunks.Count(steps, batch);
        chunks.Should().Be(expectedChunks);
        Internal.TimeChunks.Start(0, chunks, steps).Should().Be(0);
        Internal.TimeChunks.Start(chunks, chunks, steps).Should().Be(steps);
        for (int c = 0; c < chunks; c++)
        {
            int length = Internal.TimeChunks.Start(c + 1, chunks, steps) - Internal.TimeChunks.Start(c, chunks, steps);
            length.Should().BeInRange(1, Internal.TimeChunks.MaxSteps(steps, chunks));
            if (chunks > 1 && steps * batch >= 2 * Internal.TimeChunks.TargetColumns)
            {
                (length * batch).Should().BeGreaterThanOrEqualTo(1024 / batch * batch, "a chunk keeps the GEMMs' depth near 1024");
            }
        }
    }

    private static double Epsilon => typeof(T) == typeof(float) ? 2e-6 : 1e-14;

    private static RecurrentGradients<T> Backward(
        RecurrentLayer<T> layer, LossPlacement placement, LossReduction reduction, ForwardCache<T> cache, SequenceTargets<T> targets, int chunkColumns)
    {
        var bptt = new Bptt<T>(layer, placement, reduction) { ChunkColumns = chunkColumns };
        return bptt.Backward(cache, targets);
    }
}

public sealed class BpttChunkTestsDouble : BpttChunkTests<double>;

public sealed class BpttChunkTestsSingle : BpttChunkTests<float>;
