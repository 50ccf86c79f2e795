using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Persistence;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Models;

/// <summary>
/// The LSTM with projections (<see cref="RecurrentModelOptions.ProjectionSize"/>, PyTorch's <c>proj_size</c>): the option
/// is refused where it means nothing, the shapes are PyTorch's, model files and safetensors keep it (P and W_hr), and ONNX
/// export refuses it by name.
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
    public void A_model_file_stores_P_and_loads_to_the_same_bits_float_and_double()
    {
        RoundTrip<float>();
        RoundTrip<double>();
    }

    [Fact]
    public void A_file_whose_P_field_is_damaged_is_refused_and_LoadInto_names_a_different_P()
    {
        var model = new RecurrentModel<double>(ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, 3, 5, 4) with { ProjectionSize = 2 });
        byte[] file = ModelFile.Serialize(model, null, null);
        foreach (uint bad in new uint[] { 0, 5, 9 })
        {
            byte[] damaged = (byte[])file.Clone();
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(damaged.AsSpan(60), bad);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(damaged.AsSpan(damaged.Length - 4), Crc32C.Compute(damaged.AsSpan(0, damaged.Length - 4)));
            FluentActions.Invoking(() => ModelFile.Load<double>(new MemoryStream(damaged)))
                .Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.Invalid)
                .WithMessage($"*projection size P (bytes 60..63) is {bad}; the LSTM with projections cell needs 0 < P < H = 5.");
        }

        var other = new RecurrentModel<double>(model.Options with { ProjectionSize = 3 });
        double[][] before = ModelProblems.Snapshot(other);
        FluentActions.Invoking(() => ModelFile.LoadInto(other, new MemoryStream(file)))
            .Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.Mismatch)
            .WithMessage("*projectionSize P is 2 in the file but 3 in the*");
        ModelProblems.Snapshot(other).Should().BeEquivalentTo(before, o => o.WithStrictOrdering(), "nothing changed");
        var plain = new RecurrentModel<double>(model.Options with { ProjectionSize = null });
        FluentActions.Invoking(() => ModelFile.LoadInto(plain, new MemoryStream(file)))
            .Should().Throw<ModelFormatException>().WithMessage("*projectionSize P is 2 in the file but none in the*");
    }

    [Fact]
    public void Safetensors_round_trip_with_PyTorchs_names_float_and_double()
    {
        SafeTensorsRoundTrip<float>();
        SafeTensorsRoundTrip<double>();
    }

    [Fact]
    public void ONNX_export_is_refused_naming_the_option_and_writes_nothing()
    {
        var model = new RecurrentModel<float>(ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, 3, 5, 4) with { ProjectionSize = 2 });
        const string message = "ONNX's LSTM operator has no projection, so a network with RecurrentModelOptions.ProjectionSize = 2 (the LSTM with projections) cannot be exported to ONNX*";
        using var stream = new MemoryStream();
        FluentActions.Invoking(() => OnnxExport.Serialize(model)).Should().Throw<NotSupportedException>().WithMessage(message);
        FluentActions.Invoking(() => OnnxExport.Save(model, stream)).Should().Throw<NotSupportedException>().WithMessage(message);
        stream.Length.Should().Be(0, "nothing was written");
        string folder = Directory.CreateTempSubdirectory("rnncore-projected-").FullName;
        try
        {
            FluentActions.Invoking(() => OnnxExport.Save(model, Path.Combine(folder, "model.onnx"))).Should().Throw<NotSupportedException>().WithMessage(message);
            Directory.GetFiles(folder).Should().BeEmpty("no file is left behind");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void RoundTrip<T>()
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        RecurrentModelOptions options = ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, 3, 5, 4) with { ProjectionSize = 2, Dropout = 0.25 };
        var model = new RecurrentModel<T>(options);
        using var saved = new MemoryStream();
        ModelFile.Save(model, saved, new RnnCore.Optimizers.AdamOptimizer<T>(0.01));
        byte[] file = saved.ToArray();
        file[22].Should().Be(RnnCore.Cells.ProjectedLstmCell.Description.FileCode, "the cell code of the LSTM with projections");
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(60)).Should().Be(2u, "P in bytes 60..63");

        Checkpoint<T> loaded = ModelFile.LoadCheckpoint<T>(new MemoryStream(file));
        loaded.Model.Options.Should().Be(options);
        loaded.Model.ParameterNames.Should().Equal(model.ParameterNames);
        ModelProblems.Snapshot(loaded.Model).Should().BeEquivalentTo(ModelProblems.Snapshot(model), o => o.WithStrictOrdering());
        loaded.OptimizerState.Should().NotBeNull();

        // The loaded network computes what the saved one does, bit for bit (same weights, same dropout generator state).
        var random = new Random(4);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, 3, 6, 2);
        ForwardCache<T> expected = model.Forward(inputs), actual = loaded.Model.Forward(inputs);
        for (int t = 0; t < 6; t++)
        {
            actual.Output(t).ToColumnMajorArray().Should().Equal(expected.Output(t).ToColumnMajorArray());
        }

        // And a second save writes the same bytes.
        ModelFile.Serialize(loaded.Model, null, null).Should().Equal(ModelFile.Serialize(model, null, null));
    }

    private static void SafeTensorsRoundTrip<T>()
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var model = new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax, 3, 5, 4) with { ProjectionSize = 2 });
        using var stream = new MemoryStream();
        SafeTensors.Export(model, stream);
        string header = System.Text.Encoding.UTF8.GetString(stream.ToArray(), 8, (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(stream.ToArray()));
        header.Should().Contain("\"rnn.weight_hr_l1_reverse\":{").And.Contain("\"shape\":[2,5]").And.Contain("\"cell\":\"lstm_proj\"");
        stream.Position = 0;
        RecurrentModel<T> imported = SafeTensors.Import<T>(stream);
        imported.Options.ProjectionSize.Should().Be(2);
        imported.ParameterNames.Should().Equal(model.ParameterNames);
        ModelProblems.Snapshot(imported).Should().BeEquivalentTo(ModelProblems.Snapshot(model), o => o.WithStrictOrdering());
    }

    private static (int Rows, int Columns) Shape<T>(Matrix<T> matrix)
        where T : struct, IEquatable<T>, IFormattable
        => (matrix.RowCount, matrix.ColumnCount);
}
