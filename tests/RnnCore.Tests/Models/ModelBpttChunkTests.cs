using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Models;

/// <summary>
/// <see cref="Bptt{T}"/> walks the time axis in chunks (about 1024 columns at real sizes; forced small
/// here): the chunks may change only the summation order of the weight gradients. The loss, dL/dh_0, dL/dc_0 and every
/// layer-direction's dh norms keep their bits, and the weight gradients agree with the one-chunk walk to rounding.
/// </summary>
public abstract class ModelBpttChunkTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Steps = 9, Batch = 3;

    public static TheoryData<RecurrentCellKind, int, bool, LossPlacement, bool> Configurations()
    {
        var data = new TheoryData<RecurrentCellKind, int, bool, LossPlacement, bool>();
        foreach (RecurrentCellKind cell in Enum.GetValues<RecurrentCellKind>())
        {
            foreach (LossPlacement placement in Enum.GetValues<LossPlacement>())
            {
                data.Add(cell, 1, false, placement, false);
                data.Add(cell, 2, true, placement, true);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Chunks_change_only_the_summation_order_of_the_weight_gradients(
        RecurrentCellKind cell, int layers, bool bidirectional, LossPlacement placement, bool padded)
    {
        var random = new Random(17);
        var model = new RecurrentModel<T>(ModelProblems.Options(cell, layers, bidirectional, OutputActivation.Softmax, 3, 5, 4, dropout: layers > 1 ? 0.3 : 0, seed: 2));
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, 3, Steps, Batch);
        SequenceTargets<T> targets = ModelProblems.Targets(random, model, Steps, Batch, placement);
        ForwardCache<T> cache = model.CreateCache(Steps, Batch);
        model.Forward(inputs, cache, ModelProblems.States<T>(random, model, Batch), null, padded ? [9, 2, 6] : null, training: true);

        RecurrentGradients<T> whole = Backward(model, placement, cache, targets, int.MaxValue);

        // One step per chunk (9 chunks), then ⌊27 / 9⌋ = 3 chunks of 3 steps.
        foreach (int chunkColumns in new[] { 1, 3 * Batch })
        {
            RecurrentGradients<T> chunked = Backward(model, placement, cache, targets, chunkColumns);
            chunked.Loss.Should().Be(whole.Loss, "the loss is summed in position order whatever the chunks");
            for (int ld = 0; ld < layers * model.Directions; ld++)
            {
                chunked.DhNorms(ld / model.Directions, ld % model.Directions).Should().Equal(whole.DhNorms(ld / model.Directions, ld % model.Directions), "dh norms of {0} ({1} columns)", ld, chunkColumns);
                chunked.InitialHidden(ld).ToColumnMajorArray().Should().Equal(whole.InitialHidden(ld).ToColumnMajorArray(), "dL/dh_0 of {0} ({1} columns)", ld, chunkColumns);
                if (cell == RecurrentCellKind.Lstm)
                {
                    chunked.InitialCell(ld).ToColumnMajorArray().Should().Equal(whole.InitialCell(ld).ToColumnMajorArray(), "dL/dc_0 of {0} ({1} columns)", ld, chunkColumns);
                }
            }

            Tolerance.AssertClose($"chunks of {chunkColumns} columns", whole.ParameterGradients, chunked.ParameterGradients, Epsilon);
        }
    }

    [Fact]
    public void A_steady_state_backward_in_many_chunks_allocates_nothing()
    {
        var random = new Random(5);
        var model = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, 3, 5, 4));
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, 3, Steps, Batch);
        SequenceTargets<T> targets = ModelProblems.Targets(random, model, Steps, Batch, LossPlacement.EveryStep);
        var bptt = new Bptt<T>(model) { ChunkColumns = 2 * Batch };
        ForwardCache<T> cache = model.CreateCache(Steps, Batch);
        RecurrentGradients<T> gradients = model.CreateGradients(Steps, Batch);
        Allocations.OfSteadyState(() =>
        {
            model.Forward(inputs, cache);
            bptt.Backward(cache, targets, gradients);
        }).Should().Be(0);
    }

    private static double Epsilon => typeof(T) == typeof(float) ? 2e-6 : 1e-14;

    private static RecurrentGradients<T> Backward(
        RecurrentModel<T> model, LossPlacement placement, ForwardCache<T> cache, SequenceTargets<T> targets, int chunkColumns)
    {
        var bptt = new Bptt<T>(model, placement, LossReduction.Mean) { ChunkColumns = chunkColumns };
        return bptt.Backward(cache, targets);
    }
}

public sealed class ModelBpttChunkTestsDouble : ModelBpttChunkTests<double>;

public sealed class ModelBpttChunkTestsSingle : ModelBpttChunkTests<float>;
