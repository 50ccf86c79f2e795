using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests;

public sealed class TruncatedBpttTests
{
    [Fact]
    public void The_hidden_state_is_carried_exactly_across_chunks()
    {
        // The state after the last chunk must equal one forward pass over the whole sequence at the same parameters.
        var random = new Random(1);
        var layer = new RecurrentLayer<double>(3, 5, 2, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 2);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(random, 3, 10, 2);
        Matrix<double> h0 = RandomProblems.Hidden<double>(random, 5, 2);
        Matrix<double> expected = layer.Forward(inputs, [h0]).FinalHidden(0);

        // A learning rate of 1e-300 changes no parameter (every update underflows below half an ulp), so each chunk
        // starts exactly where a single pass over the whole sequence would be.
        var tbptt = new TruncatedBptt<double>(layer, new SgdOptimizer<double>(1e-300), chunkLength: 3);
        TruncatedBpttResult<double> result = tbptt.Train(inputs, RandomProblems.Targets(random, layer, 10, 2, LossPlacement.EveryStep), [h0]);

        result.ChunkLosses.Should().HaveCount(4, "10 steps in chunks of 3 leave a last chunk of 1");
        result.FinalHidden[0].Should().BeEquivalentTo(expected);
    }

    [Fact]
    public void No_gradient_crosses_a_chunk_boundary()
    {
        // The first chunk's update must equal plain BPTT over those k steps alone.
        var random = new Random(2);
        var a = new RecurrentLayer<double>(2, 4, 3, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 5);
        var b = new RecurrentLayer<double>(2, 4, 3, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 5);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(random, 2, 8, 1);
        SequenceTargets<double> targets = RandomProblems.Targets(random, a, 8, 1, LossPlacement.EveryStep);

        new TruncatedBptt<double>(a, new SgdOptimizer<double>(0.5), chunkLength: 4).Train(inputs.Take(4).ToList(), SequenceTargets<double>.FromClasses(Enumerable.Range(0, 4).Select(t => targets.ClassesAt(t).ToArray()).ToArray()));
        RecurrentGradients<double> plain = new Bptt<double>(b).Backward(b.Forward(inputs.Take(4).ToList()), SequenceTargets<double>.FromClasses(Enumerable.Range(0, 4).Select(t => targets.ClassesAt(t).ToArray()).ToArray()));
        new SgdOptimizer<double>(0.5).Step(b, plain);

        for (int i = 0; i < a.Parameters.Count; i++)
        {
            a.Parameters[i].ToArray().Should().Equal(b.Parameters[i].ToArray());
        }
    }

    [Fact]
    public void Each_chunk_scores_its_own_last_step_with_last_step_placement()
    {
        var random = new Random(3);
        var layer = new RecurrentLayer<double>(2, 3, 1, HiddenActivation.Relu, OutputActivation.Identity, seed: 1);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(random, 2, 6, 2);
        SequenceTargets<double> targets = RandomProblems.Targets(random, layer, 6, 2, LossPlacement.EveryStep);
        var twin = new RecurrentLayer<double>(2, 3, 1, HiddenActivation.Relu, OutputActivation.Identity, seed: 1);

        TruncatedBpttResult<double> result = new TruncatedBptt<double>(layer, new SgdOptimizer<double>(1e-300), 3, LossPlacement.LastStep).Train(inputs, targets);

        // Chunk 0 scores step 2 only: its loss is the squared error of that step's output against that step's target.
        ForwardCache<double> cache = twin.Forward(inputs.Take(3).ToList());
        double expected = new Bptt<double>(twin, LossPlacement.LastStep).Loss(cache, SequenceTargets<double>.FromValues([Matrix<double>.Build.Dense(1, 2, (i, j) => targets.ValuesAt(2)[j])]));
        result.ChunkLosses[0].Should().Be(expected);
    }

    [Fact]
    public void Bad_input_anywhere_is_refused_before_any_update()
    {
        var random = new Random(4);
        var layer = new RecurrentLayer<double>(2, 3, 2, seed: 1);
        double[][] before = RandomProblems.Snapshot(layer);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(random, 2, 9, 1);
        inputs[8][1, 0] = double.NaN; // in the last chunk: the first two chunks must not have been applied
        var tbptt = new TruncatedBptt<double>(layer, new SgdOptimizer<double>(0.1), 3);
        Action act = () => tbptt.Train(inputs, RandomProblems.Targets(random, layer, 9, 1, LossPlacement.EveryStep));
        act.Should().Throw<ArgumentException>().WithParameterName("inputs").WithMessage("inputs[8] contains NaN at row 1, column 0*");
        RandomProblems.ShouldBeUnchanged(layer, before);

        Action steps = () => tbptt.Train(inputs.Take(4).ToList(), SequenceTargets<double>.FromClasses([[0]]));
        steps.Should().Throw<ArgumentException>().WithParameterName("targets").WithMessage("*one target per step: 4 steps of 1*");
        Action chunk = () => _ = new TruncatedBptt<double>(layer, new SgdOptimizer<double>(0.1), 0);
        chunk.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("chunkLength");
        RandomProblems.ShouldBeUnchanged(layer, before);
    }

    [Fact]
    public void Norms_before_clipping_are_reported_and_clipping_applies()
    {
        var random = new Random(5);
        var layer = new RecurrentLayer<double>(3, 4, 3, seed: 2);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(random, 3, 6, 2, scale: 3);
        SequenceTargets<double> targets = RandomProblems.Targets(random, layer, 6, 2, LossPlacement.EveryStep);
        TruncatedBpttResult<double> result = new TruncatedBptt<double>(layer, new SgdOptimizer<double>(0.1), 3, clipping: Clipping.ByGlobalNorm(1e-3)).Train(inputs, targets);
        result.GradientNormsBeforeClipping.Should().HaveCount(2).And.OnlyContain(n => n > 1e-3);
    }
}
