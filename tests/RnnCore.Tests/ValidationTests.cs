using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests;

/// <summary>
/// Bad input gets an ArgumentException (or subclass) that names the argument, the expected and the actual shape or
/// value, and leaves the layer's parameters unchanged.
/// </summary>
public sealed class ValidationTests
{
    private const int InputSize = 3, HiddenSize = 4, OutputSize = 2, Steps = 5, Batch = 2;

    private readonly RecurrentLayer<double> _layer = new(InputSize, HiddenSize, OutputSize, seed: 1);
    private readonly List<Matrix<double>> _inputs = RandomProblems.Inputs<double>(new Random(1), InputSize, Steps, Batch);
    private readonly T0 _snapshot;

    public ValidationTests() => _snapshot = new T0(RandomProblems.Snapshot(_layer));

    [Theory]
    [InlineData(0, 4, 2, "inputSize")]
    [InlineData(3, 0, 2, "hiddenSize")]
    [InlineData(3, 4, -1, "outputSize")]
    public void Non_positive_sizes_are_refused(int inputSize, int hiddenSize, int outputSize, string name)
    {
        Action act = () => _ = new RecurrentLayer<double>(inputSize, hiddenSize, outputSize);
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName(name).WithMessage($"*{name} must be positive*");
    }

    [Fact]
    public void Element_types_other_than_float_and_double_are_refused()
    {
        Action act = () => _ = new RecurrentLayer<Half>(1, 1, 1);
        act.Should().Throw<NotSupportedException>().WithMessage("*float or double*Half*");
    }

    [Fact]
    public void Undefined_activations_are_refused()
    {
        Action hidden = () => _ = new RecurrentLayer<double>(1, 1, 1, (HiddenActivation)7);
        Action output = () => _ = new RecurrentLayer<double>(1, 1, 1, HiddenActivation.Tanh, (OutputActivation)7);
        hidden.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("hiddenActivation");
        output.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("outputActivation");
    }

    [Fact]
    public void A_wrong_input_shape_names_the_step_and_both_shapes()
    {
        _inputs[3] = Matrix<double>.Build.Dense(InputSize + 2, Batch);
        Action act = () => _layer.Forward(_inputs);
        act.Should().Throw<ArgumentException>().WithParameterName("inputs")
            .WithMessage("inputs[3] is 5x2 but the layer expects 3x2 (inputSize x batch)*");
        ShouldBeUnchanged();
    }

    [Fact]
    public void A_batch_that_changes_between_steps_is_refused()
    {
        _inputs[2] = Matrix<double>.Build.Dense(InputSize, Batch + 1);
        Action act = () => _layer.Forward(_inputs);
        act.Should().Throw<ArgumentException>().WithParameterName("inputs").WithMessage("inputs[2] is 3x3 but the layer expects 3x2*");
    }

    [Fact]
    public void A_null_step_is_refused()
    {
        _inputs[1] = null!;
        Action act = () => _layer.Forward(_inputs);
        act.Should().Throw<ArgumentNullException>().WithParameterName("inputs").WithMessage("inputs[1] is null*");
    }

    [Fact]
    public void An_empty_sequence_is_refused()
    {
        Action batch = () => _layer.Forward(new List<Matrix<double>>());
        Action single = () => _layer.Forward(new List<MathNet.Numerics.LinearAlgebra.Vector<double>>());
        batch.Should().Throw<ArgumentException>().WithParameterName("inputs").WithMessage("*empty*at least one step*");
        single.Should().Throw<ArgumentException>().WithParameterName("sequence").WithMessage("*empty*");
        Action cache = () => _layer.CreateCache(0, 1);
        cache.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("steps");
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void A_non_finite_input_is_refused_where_it_is(double bad)
    {
        _inputs[4][2, 1] = bad;
        Action act = () => _layer.Forward(_inputs);
        act.Should().Throw<ArgumentException>().WithParameterName("inputs")
            .WithMessage($"inputs[4] contains {bad} at row 2, column 1*finite*");
        ShouldBeUnchanged();
    }

    [Fact]
    public void A_wrong_or_non_finite_initial_hidden_state_is_refused()
    {
        Action shape = () => _layer.Forward(_inputs, [Matrix<double>.Build.Dense(HiddenSize, Batch + 1)]);
        shape.Should().Throw<ArgumentException>().WithParameterName("initialHidden").WithMessage("initialHidden[0] is 4x3 but the layer expects 4x2 (hiddenSize x batch)*");
        Matrix<double> h0 = Matrix<double>.Build.Dense(HiddenSize, Batch);
        h0[3, 0] = double.NaN;
        Action nan = () => _layer.Forward(_inputs, [h0]);
        nan.Should().Throw<ArgumentException>().WithParameterName("initialHidden").WithMessage("*NaN at row 3, column 0*");
    }

    [Fact]
    public void A_cache_of_another_shape_is_refused()
    {
        ForwardCache<double> wrongSteps = _layer.CreateCache(Steps + 1, Batch);
        Action steps = () => _layer.Forward(_inputs, wrongSteps);
        steps.Should().Throw<ArgumentException>().WithParameterName("inputs").WithMessage("inputs has 5 steps but cache was created for 6*");

        ForwardCache<double> otherLayer = new RecurrentLayer<double>(InputSize, HiddenSize + 1, OutputSize).CreateCache(Steps, Batch);
        Action sizes = () => _layer.Forward(_inputs, otherLayer);
        sizes.Should().Throw<ArgumentException>().WithParameterName("cache").WithMessage("*H=5*H=4*");

        ForwardCache<double> wrongBatch = _layer.CreateCache(Steps, Batch + 1);
        Action batch = () => _layer.Forward(_inputs, wrongBatch);
        batch.Should().Throw<ArgumentException>().WithParameterName("inputs").WithMessage("inputs[0] is 3x2 but the layer expects 3x3*");
    }

    [Fact]
    public void A_class_target_out_of_range_is_refused_with_its_position()
    {
        ForwardCache<double> cache = _layer.Forward(_inputs);
        int[][] classes = Enumerable.Range(0, Steps).Select(_ => new[] { 0, 1 }).ToArray();
        classes[2][1] = OutputSize;
        Action act = () => new Bptt<double>(_layer).Backward(cache, SequenceTargets<double>.FromClasses(classes));
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("targets")
            .WithMessage("class target at step 2, sequence 1 is 2 but must be in [0, 1] (outputSize 2; classes count from 0)*");
        classes[2][1] = -1;
        Action negative = () => SequenceTargets<double>.FromClasses(classes);
        negative.Should().Throw<ArgumentException>().WithParameterName("classes").WithMessage("classes[2][1] is -1*");
        ShouldBeUnchanged();
    }

    [Fact]
    public void Targets_that_do_not_match_the_loss_are_refused()
    {
        ForwardCache<double> cache = _layer.Forward(_inputs);
        var every = new Bptt<double>(_layer, LossPlacement.EveryStep);
        SequenceTargets<double> oneStep = SequenceTargets<double>.FromClasses([[0, 1]]);
        Action steps = () => every.Backward(cache, oneStep);
        steps.Should().Throw<ArgumentException>().WithParameterName("targets").WithMessage("targets cover 1 steps but the loss (EveryStep) over a 5-step cache needs 5*");

        SequenceTargets<double> wrongBatch = SequenceTargets<double>.FromClasses([[0, 1, 1]]);
        Action batch = () => new Bptt<double>(_layer, LossPlacement.LastStep).Backward(cache, wrongBatch);
        batch.Should().Throw<ArgumentException>().WithParameterName("targets").WithMessage("targets are for 3 sequences but the cache holds 2*");

        SequenceTargets<double> values = SequenceTargets<double>.FromValues([Matrix<double>.Build.Dense(OutputSize, Batch)]);
        Action kind = () => new Bptt<double>(_layer, LossPlacement.LastStep).Backward(cache, values);
        kind.Should().Throw<ArgumentException>().WithParameterName("targets").WithMessage("*softmax output is trained with class indices*");
    }

    [Fact]
    public void Binary_targets_outside_zero_one_are_refused()
    {
        var layer = new RecurrentLayer<double>(InputSize, HiddenSize, OutputSize, HiddenActivation.Tanh, OutputActivation.Sigmoid);
        ForwardCache<double> cache = layer.Forward(_inputs);
        Matrix<double> target = Matrix<double>.Build.Dense(OutputSize, Batch, 0.5);
        target[1, 1] = 1.5;
        Action act = () => new Bptt<double>(layer, LossPlacement.LastStep).Backward(cache, SequenceTargets<double>.FromValues([target]));
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("targets").WithMessage("*step 0, sequence 1, unit 1 is 1.5 but must be in [0, 1]*");
    }

    [Fact]
    public void Gradients_of_another_shape_are_refused_and_not_written()
    {
        ForwardCache<double> cache = _layer.Forward(_inputs);
        RecurrentGradients<double> gradients = _layer.CreateGradients(Steps + 1, Batch);
        SequenceTargets<double> targets = RandomProblems.Targets(new Random(2), _layer, Steps, Batch, LossPlacement.EveryStep);
        Action act = () => new Bptt<double>(_layer).Backward(cache, targets, gradients);
        act.Should().Throw<ArgumentException>().WithParameterName("gradients").WithMessage("*6 steps x 2 sequences*CreateGradients(5, 2)*");
        gradients.ParameterGradients.L2Norm().Should().Be(0);
    }

    [Fact]
    public void A_cache_from_another_layer_or_an_empty_cache_is_refused()
    {
        var twin = new RecurrentLayer<double>(InputSize, HiddenSize, OutputSize, seed: 1);
        ForwardCache<double> foreign = twin.Forward(_inputs);
        SequenceTargets<double> targets = RandomProblems.Targets(new Random(2), _layer, Steps, Batch, LossPlacement.EveryStep);
        Action other = () => new Bptt<double>(_layer).Backward(foreign, targets);
        other.Should().Throw<ArgumentException>().WithParameterName("cache").WithMessage("*another layer*");
        Action empty = () => new Bptt<double>(_layer).Backward(_layer.CreateCache(Steps, Batch), targets);
        empty.Should().Throw<ArgumentException>().WithParameterName("cache").WithMessage("*empty*");
    }

    [Fact]
    public void Parameters_that_overflow_are_reported_at_the_first_step_where_it_happens()
    {
        // ReLU with W_h = 1e200·I: a grows by 1e200 per step and overflows to infinity at step 2, not before.
        var layer = new RecurrentLayer<double>(1, 2, 2, HiddenActivation.Relu, OutputActivation.Identity, seed: 3);
        layer.Wx.SetSubMatrix(0, 0, Matrix<double>.Build.Dense(2, 1, 1.0));
        layer.Bh.Clear();
        layer.Wh.SetSubMatrix(0, 0, Matrix<double>.Build.DenseIdentity(2) * 1e200);
        List<Matrix<double>> inputs = Enumerable.Range(0, 4).Select(_ => Matrix<double>.Build.Dense(1, 1, 1.0)).ToList();
        Action act = () => layer.Forward(inputs);
        act.Should().Throw<NonFiniteValueException>().Where(e => e.Step == 2 && e.Quantity == "pre-activation a_t")
            .WithMessage("pre-activation a_t became NaN or infinite at step 2*");
    }

    [Fact]
    public void A_non_finite_parameter_is_reported_at_step_zero()
    {
        _layer.Wx[1, 2] = double.NaN;
        Action act = () => _layer.Forward(_inputs);
        act.Should().Throw<NonFiniteValueException>().Where(e => e.Step == 0).WithMessage("*row 1*");
    }

    [Fact]
    public void Exploding_gradients_are_reported_at_the_step_where_an_element_overflows()
    {
        // ReLU, W_h = 10: dL/dh grows tenfold per step back. The forward stays tiny (h_t ≈ 10^t · 1e-300) and the loss
        // finite ((z − 1e150)² ≈ 1e300), while dL/dh at the last step is W_y · dL/dz ≈ −2e300. Going back, −2e300 · 10^k
        // passes the largest double (1.8e308) at k = 8, i.e. at step 11 − 8 = 3. Before that the norms are finite although
        // their squares (up to 4e614) are not: the norm must not overflow early.
        var layer = new RecurrentLayer<double>(1, 1, 1, HiddenActivation.Relu, OutputActivation.Identity, seed: 3);
        layer.Wx[0, 0] = 0;
        layer.Bh[0] = 1e-300;
        layer.Wh[0, 0] = 10;
        layer.Wy[0, 0] = 1e150;
        layer.By[0] = 0;
        List<Matrix<double>> inputs = Enumerable.Range(0, 12).Select(_ => Matrix<double>.Build.Dense(1, 1, 0.0)).ToList();
        ForwardCache<double> cache = layer.Forward(inputs);
        var targets = SequenceTargets<double>.FromValues([Matrix<double>.Build.Dense(1, 1, 1e150)]);
        var bptt = new Bptt<double>(layer, LossPlacement.LastStep);
        Action act = () => bptt.Backward(cache, targets);
        act.Should().Throw<NonFiniteValueException>().Where(e => e.Quantity == "gradient dL/dh_t" && e.Step == 3)
            .WithMessage("gradient dL/dh_t became NaN or infinite at step 3 (row 0, sequence 0)*");

        // One step fewer: no element overflows, and the norms of 2e300 · 10^k are reported exactly, not as infinity.
        layer.Wh[0, 0] = 1;
        RecurrentGradients<double> finite = bptt.Backward(layer.Forward(inputs), targets);
        finite.DhNorms(0, 0)[11].Should().BeApproximately(2e300, 1e286);
        finite.DhNorms(0, 0).Should().OnlyContain(n => double.IsFinite(n));
    }

    private void ShouldBeUnchanged() => RandomProblems.ShouldBeUnchanged(_layer, _snapshot.Values);

    private sealed record T0(double[][] Values);
}
