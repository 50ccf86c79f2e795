using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Persistence;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Models;

/// <summary>
/// The LSTM with projections (<see cref="RecurrentModelOptions.ProjectionSize"/>, PyTorch's <c>proj_size</c>): the option
/// is refused where it means nothing, the shapes are PyTorch's, and the writers, which do not know the cell yet, write nothing.
/// Its numbers are checked by the cells reference runner (../shared/reference-cells-proj) and by the finite differences
/// of <see cref="ModelGradientCheckTests"/>.
/// </summary>
public sealed class ProjectedLstmTests
{
    [Theory]
    [InlineData(RecurrentCellKind.Gru, 2, "*options.ProjectionSize is 2 but a Gru cell has no projection; expected null*")]
    [InlineData(RecurrentCellKind.Vanilla, 2, "*options.ProjectionSize is 2 but a Vanilla cell has no projection; expected null*")]
    [InlineData(RecurrentCellKind.Lstm, 0, "*options.ProjectionSize is 0; expected 0 < P < HiddenSize (5)*")]
    [InlineData(RecurrentCellKind.Lstm, -1, "*options.ProjectionSize is -1; expected 0 < P < HiddenSize (5)*")]
    [InlineData(RecurrentCellKind.Lstm, 5, "*options.ProjectionSize is 5; expected 0 < P < HiddenSize (5)*")]
    public void A_projection_size_that_means_nothing_is_refused(RecurrentCellKind cell, int projection, string message)
    {
        RecurrentModelOptions options = ModelProblems.Options(cell, 1, false, OutputActivation.Softmax, hiddenSize: 5) with { ProjectionSize = projection };
        ArgumentOutOfRangeException refused = ((Action)(() => _ = new RecurrentModel<double>(options))).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage(message).Which;
        refused.ParamName.Should().Be("options");
        refused.ActualValue.Should().Be(projection);
    }

    [Fact]
    public void Parameters_and_states_have_PyTorchs_shapes()
    {
        // I = 3, H = 5, P = 2, O = 4, two bidirectional layers: W_hh 20 x 2, W_hr 2 x 5, layer 1 and the head read D·P = 4.
        RecurrentModelOptions options = ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, 3, 5, 4) with { ProjectionSize = 2 };
        var model = new RecurrentModel<float>(options);
        string[] names = Enumerable.Range(0, model.Parameters.Count).Select(model.Parameters.GetName).ToArray();
        names.Should().Equal(
            "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "rnn.weight_hr_l0",
            "rnn.weight_ih_l0_reverse", "rnn.weight_hh_l0_reverse", "rnn.bias_ih_l0_reverse", "rnn.bias_hh_l0_reverse", "rnn.weight_hr_l0_reverse",
            "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1", "rnn.weight_hr_l1",
            "rnn.weight_ih_l1_reverse", "rnn.weight_hh_l1_reverse", "rnn.bias_ih_l1_reverse", "rnn.bias_hh_l1_reverse", "rnn.weight_hr_l1_reverse",
            "head.weight", "head.bias");
        Shape(model.Parameter("rnn.weight_ih_l0")).Should().Be((20, 3));
        Shape(model.Parameter("rnn.weight_hh_l0")).Should().Be((20, 2));
        Shape(model.Parameter("rnn.weight_hr_l0_reverse")).Should().Be((2, 5));
        Shape(model.Parameter("rnn.weight_ih_l1")).Should().Be((20, 4));
        Shape(model.Parameter("head.weight")).Should().Be((4, 4));

        // PyTorch's bounds: U(−1/√H, 1/√H) for W_hr, U(−1/√(D·P), 1/√(D·P)) for the head.
        model.Parameter("rnn.weight_hr_l1").Enumerate().Should().OnlyContain(v => Math.Abs(v) <= 1 / Math.Sqrt(5));
        model.Parameter("head.weight").Enumerate().Should().OnlyContain(v => Math.Abs(v) <= 1 / Math.Sqrt(4))
            .And.Contain(v => Math.Abs(v) > 1 / Math.Sqrt(10), "the head's bound is 1/√(D·P), wider than 1/√(D·H)");

        var random = new Random(3);
        List<Matrix<float>> inputs = RandomProblems.Inputs<float>(random, 3, 4, 2);
        ForwardCache<float> cache = model.Forward(inputs, ModelProblems.States(random, model, 2), ModelProblems.States(random, model, 2, cell: true));
        Shape(cache.FinalHidden(3)).Should().Be((2, 2));
        Shape(cache.FinalCell(3)).Should().Be((5, 2));
        Shape(cache.Hidden(1)).Should().Be((4, 2));
        RecurrentGradients<float> gradients = new Bptt<float>(model).Backward(cache, SequenceTargets<float>.FromClasses(Enumerable.Repeat(new[] { 1, 2 }, 4).ToArray()));
        Shape(gradients.InitialHidden(0)).Should().Be((2, 2));
        Shape(gradients.InitialCell(0)).Should().Be((5, 2));

        // h_0 of H rows is refused, naming the size it expects.
        List<Matrix<float>> wrong = Enumerable.Range(0, 4).Select(_ => Matrix<float>.Build.Dense(5, 2)).ToList();
        ((Action)(() => model.Forward(inputs, wrong))).Should().Throw<ArgumentException>().WithMessage("*initialHidden*projectionSize x batch*");
        model.Summary().ToString().Should().Contain("LSTM (projection 2)");
        model.Summary().TotalParameters.Should().Be(model.Parameters.TotalLength);
    }

    [Fact]
    public void Initialization_presets_fill_W_hr_and_the_narrower_W_hh()
    {
        // Keras: orthogonal W_hh per gate block (H x P, not square), W_hr (P x H) as W_hh's initializer; zero biases.
        RecurrentModelOptions options = ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, 3, 6, 2) with { ProjectionSize = 4 };
        var model = new RecurrentModel<double>(options);
        var twin = new RecurrentModel<double>(options with { Seed = 99 });
        RnnCore.Initialization.ModelInitialization.Keras.Apply(model, 5);
        RnnCore.Initialization.ModelInitialization.Keras.Apply(twin, 5);
        ModelProblems.Snapshot(model).Should().BeEquivalentTo(ModelProblems.Snapshot(twin), o => o.WithStrictOrdering(), "the seed alone decides");
        model.Parameter("rnn.bias_hh_l1_reverse").Enumerate().Should().OnlyContain(v => v == 0);
        Matrix<double> block = model.Parameter("rnn.weight_hh_l0").SubMatrix(6, 6, 0, 4); // the forget gate's H x P block
        (block.TransposeThisAndMultiply(block) - Matrix<double>.Build.DenseIdentity(4)).FrobeniusNorm().Should().BeLessThan(1e-12, "orthonormal columns");
        Matrix<double> projection = model.Parameter("rnn.weight_hr_l1");
        (projection * projection.Transpose() - Matrix<double>.Build.DenseIdentity(4)).FrobeniusNorm().Should().BeLessThan(1e-12, "orthonormal rows");
    }

    [Fact]
    public void Writers_that_do_not_know_the_cell_refuse_it_today_and_write_nothing()
    {
        // Persistence does not describe the projection yet (its rewrite moves each cell's description into the cell). What
        // happens today, recorded so that the rewrite replaces it knowingly: every writer stops at its own consistency check
        // (its tensor table expects W_hh of 4H x H and no W_hr), so a projected LSTM is never written as a plain LSTM, but
        // the messages are internal ones, not a clear "this cell is not supported" (ONNX's is an IndexOutOfRangeException).
        var model = new RecurrentModel<float>(
            ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, 3, 5, 4) with { ProjectionSize = 2 });
        using var stream = new MemoryStream();
        ((Action)(() => ModelFile.Save(model, stream))).Should().Throw<InvalidOperationException>().WithMessage("*rnn.weight_hh_l0*");
        ((Action)(() => ModelFile.Save(model, stream, new RnnCore.Optimizers.AdamOptimizer<float>(0.01)))).Should().Throw<InvalidOperationException>();
        ((Action)(() => SafeTensors.Export(model, stream))).Should().Throw<InvalidOperationException>().WithMessage("*rnn.weight_hr_l0*");
        ((Action)(() => OnnxExport.Serialize(model))).Should().Throw<IndexOutOfRangeException>();
        stream.Length.Should().Be(0, "nothing was written");

        string folder = Directory.CreateTempSubdirectory("rnncore-projected-").FullName;
        try
        {
            ((Action)(() => ModelFile.Save(model, Path.Combine(folder, "model.rnn")))).Should().Throw<InvalidOperationException>();
            ((Action)(() => SafeTensors.Export(model, Path.Combine(folder, "model.safetensors")))).Should().Throw<InvalidOperationException>();
            ((Action)(() => OnnxExport.Save(model, Path.Combine(folder, "model.onnx")))).Should().Throw<IndexOutOfRangeException>();
            Directory.GetFiles(folder).Should().BeEmpty("no file is left behind");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static (int Rows, int Columns) Shape<T>(Matrix<T> matrix)
        where T : struct, IEquatable<T>, IFormattable
        => (matrix.RowCount, matrix.ColumnCount);
}
