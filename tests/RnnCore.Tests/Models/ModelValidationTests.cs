using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Models;

/// <summary>Bad input is refused with an ArgumentException naming the argument, the expected and the actual value, and the model is left unchanged.</summary>
public sealed class ModelValidationTests
{
    private const int Steps = 4, Batch = 3;

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void A_dropout_outside_zero_one_is_refused(double p)
    {
        Action create = () => _ = new RecurrentModel<double>(new RecurrentModelOptions(3, 4, 2) { Dropout = p });
        create.Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "options").WithMessage("*Dropout*[0, 1)*");
    }

    [Fact]
    public void Zero_layers_and_bad_sizes_are_refused()
    {
        FluentActions.Invoking(() => new RecurrentModel<double>(new RecurrentModelOptions(3, 4, 2) { Layers = 0 }))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Layers is 0*at least 1*");
        FluentActions.Invoking(() => new RecurrentModel<double>(new RecurrentModelOptions(3, 0, 2)))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*HiddenSize*");
        FluentActions.Invoking(() => new RecurrentModel<double>(new RecurrentModelOptions(3, 4, 2) { Cell = (RecurrentCellKind)7 }))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Cell*");
    }

    [Theory]
    [InlineData(RecurrentCellKind.Gru, 2, true)] // another cell
    [InlineData(RecurrentCellKind.Lstm, 3, true)] // another number of layers
    [InlineData(RecurrentCellKind.Lstm, 2, false)] // another number of directions
    public void A_cache_or_gradients_of_another_shape_are_refused(RecurrentCellKind cell, int layers, bool bidirectional)
    {
        var model = new RecurrentModel<double>(ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, dropout: 0.2));
        var other = new RecurrentModel<double>(ModelProblems.Options(cell, layers, bidirectional, OutputActivation.Softmax));
        double[][] snapshot = ModelProblems.Snapshot(model);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(new Random(1), 3, Steps, Batch);

        Action forward = () => model.Forward(inputs, other.CreateCache(Steps, Batch), training: true);
        forward.Should().Throw<ArgumentException>().Where(e => e.ParamName == "cache")
            .WithMessage($"*created for (cell {cell}, layers {layers}, directions {(bidirectional ? 2 : 1)}*but this model is (cell Lstm, layers 2, directions 2*");

        ForwardCache<double> cache = model.CreateCache(Steps, Batch);
        model.Forward(inputs, cache);
        SequenceTargets<double> targets = ModelProblems.Targets(new Random(2), model, Steps, Batch, LossPlacement.EveryStep);
        Action backward = () => new Bptt<double>(model).Backward(cache, targets, other.CreateGradients(Steps, Batch));
        backward.Should().Throw<ArgumentException>().Where(e => e.ParamName == "gradients").WithMessage($"*cell {cell}, layers {layers}*");

        ModelProblems.Snapshot(model).Should().BeEquivalentTo(snapshot, o => o.WithStrictOrdering());
        GeneratorUnchanged(model);
    }

    [Fact]
    public void Initial_states_of_the_wrong_count_or_shape_are_refused()
    {
        var model = new RecurrentModel<double>(ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, dropout: 0.2));
        var random = new Random(3);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(random, 3, Steps, Batch);
        ForwardCache<double> cache = model.CreateCache(Steps, Batch);
        List<Matrix<double>> states = ModelProblems.States(random, model, Batch);
        double[][] snapshot = ModelProblems.Snapshot(model);

        FluentActions.Invoking(() => model.Forward(inputs, cache, states.Take(3).ToList(), training: true))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "initialHidden").WithMessage("*has 3 matrices*2 layer(s) x 2 direction(s); expected 4*");
        FluentActions.Invoking(() => model.Forward(inputs, cache, states, states.Take(2).ToList(), training: true))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "initialCell").WithMessage("*has 2 matrices*expected 4*");
        List<Matrix<double>> wrong = states.ToList();
        wrong[2] = Matrix<double>.Build.Dense(model.HiddenSize + 1, Batch);
        FluentActions.Invoking(() => model.Forward(inputs, cache, wrong, training: true))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "initialHidden").WithMessage("*initialHidden[2] is 4x3*expects 3x3*");
        FluentActions.Invoking(() => model.Forward(inputs, cache, states, wrong, training: true))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "initialCell").WithMessage("*initialCell[2]*");
        wrong[2] = states[2].Clone();
        wrong[2][0, 0] = double.NaN;
        FluentActions.Invoking(() => model.Forward(inputs, cache, wrong, training: true))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "initialHidden");

        var gru = new RecurrentModel<double>(ModelProblems.Options(RecurrentCellKind.Gru, 2, true, OutputActivation.Softmax));
        FluentActions.Invoking(() => gru.Forward(inputs, gru.CreateCache(Steps, Batch), states, states))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "initialCell").WithMessage("*Gru cell has no cell state*");

        ModelProblems.Snapshot(model).Should().BeEquivalentTo(snapshot, o => o.WithStrictOrdering());
        GeneratorUnchanged(model);
    }

    [Fact]
    public void Bad_inputs_lengths_and_targets_are_refused()
    {
        var model = new RecurrentModel<double>(ModelProblems.Options(RecurrentCellKind.Gru, 1, true, OutputActivation.Softmax));
        var random = new Random(4);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(random, 3, Steps, Batch);
        ForwardCache<double> cache = model.CreateCache(Steps, Batch);
        FluentActions.Invoking(() => model.Forward(inputs.Take(3).ToList(), cache)).Should().Throw<ArgumentException>().Where(e => e.ParamName == "inputs").WithMessage("*3 steps*4*");
        FluentActions.Invoking(() => model.Forward(RandomProblems.Inputs<double>(random, 2, Steps, Batch), cache)).Should().Throw<ArgumentException>().WithMessage("*inputs[0]*");
        FluentActions.Invoking(() => model.Forward(inputs, cache, lengths: [4, 0, 2])).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*lengths[1] is 0*[1, 4]*");
        FluentActions.Invoking(() => model.Forward(inputs, cache, lengths: [4, 2])).Should().Throw<ArgumentException>().WithMessage("*lengths has 2 entries*3*");

        model.Forward(inputs, cache);
        var bptt = new Bptt<double>(model);
        FluentActions.Invoking(() => bptt.Backward(cache, SequenceTargets<double>.FromClasses([[0, 1, 5], [0, 0, 0], [0, 0, 0], [0, 0, 0]])))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*is 5 but must be in [0, 2]*");
        FluentActions.Invoking(() => bptt.Backward(cache, SequenceTargets<double>.FromClasses([[0, 1, 2]])))
            .Should().Throw<ArgumentException>().WithMessage("*targets cover 1 steps*");
        FluentActions.Invoking(() => new TruncatedBptt<double>(model, new SgdOptimizer<double>(0.1), 2))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "model").WithMessage("*bidirectional*");
        FluentActions.Invoking(() => model.Parameter("rnn.weight_ih_l1")).Should().Throw<ArgumentException>().WithMessage("*rnn.weight_ih_l0_reverse*");
    }

    [Fact]
    public void A_nan_is_reported_where_it_first_appears()
    {
        var model = new RecurrentModel<double>(ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax));
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(new Random(5), 3, Steps, Batch);

        // A NaN weight of layer 1's reverse direction, on unit 2's forget gate: the reverse direction first steps at
        // position T − 1 (its first processing step), and every sequence of the batch is hit there.
        model.Parameter("rnn.weight_hh_l1_reverse")[model.HiddenSize + 2, 0] = double.NaN;
        // W_hh h_0 = NaN · 0 = NaN, in gate row H + 2 of v, caught in the product before the cell turns it into states.
        FluentActions.Invoking(() => model.Forward(inputs)).Should().Throw<NonFiniteValueException>()
            .Where(e => e.Step == Steps - 1 && e.Quantity.StartsWith("recurrent pre-activation", StringComparison.Ordinal)
                && e.Quantity.Contains("layer 1, reverse direction", StringComparison.Ordinal))
            .WithMessage($"*row {model.HiddenSize + 2}, sequence 0*");

        // A logit overflow is reported at its position.
        model.Parameter("rnn.weight_hh_l1_reverse")[model.HiddenSize + 2, 0] = 0.1;
        model.Parameter("head.bias")[1, 0] = double.PositiveInfinity;
        FluentActions.Invoking(() => model.Forward(inputs)).Should().Throw<NonFiniteValueException>()
            .Where(e => e.Step == 0 && e.Quantity == "logit z_t").WithMessage("*row 1, sequence 0*");
    }

    private static void GeneratorUnchanged(RecurrentModel<double> model)
    {
        // The refused calls drew no masks: the next training pass draws what a fresh twin draws first.
        var twin = new RecurrentModel<double>(model.Options);
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(new Random(9), 3, Steps, Batch);
        ForwardCache<double> a = model.CreateCache(Steps, Batch), b = twin.CreateCache(Steps, Batch);
        model.Forward(inputs, a, training: true);
        twin.Forward(inputs, b, training: true);
        a.DropoutMasks[0].Should().Equal(b.DropoutMasks[0]);
    }
}
