using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Persistence;
using RnnCore.Tests.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// safetensors for <see cref="RecurrentModel{T}"/>: every cell x {1, 2} layers x {uni, bi} round-trips bit for bit with
/// the same outputs; the file carries PyTorch's names, row-major shapes and RnnCore's metadata; without metadata the
/// model is inferred from names and shapes under any module names; and every contradiction, corruption, truncation and
/// non-finite value is refused with a message that names it.
/// </summary>
public abstract class ModelSafeTensorsTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int I = 3, H = 4, O = 2;

    private static readonly string DType = typeof(T) == typeof(float) ? "F32" : "F64";
    private static readonly string OtherDType = typeof(T) == typeof(float) ? "F64" : "F32";

    public static TheoryData<RecurrentCellKind, HiddenActivation, int, bool, OutputActivation> Shapes
    {
        get
        {
            var data = new TheoryData<RecurrentCellKind, HiddenActivation, int, bool, OutputActivation>();
            (RecurrentCellKind, HiddenActivation)[] cells =
                [(RecurrentCellKind.Vanilla, HiddenActivation.Tanh), (RecurrentCellKind.Vanilla, HiddenActivation.Relu), (RecurrentCellKind.Lstm, HiddenActivation.Tanh), (RecurrentCellKind.Gru, HiddenActivation.Tanh)];
            OutputActivation[] outputs = Enum.GetValues<OutputActivation>();
            int k = 0;
            foreach ((RecurrentCellKind cell, HiddenActivation hidden) in cells)
            {
                foreach (int layers in new[] { 1, 2 })
                {
                    foreach (bool bidirectional in new[] { false, true })
                    {
                        data.Add(cell, hidden, layers, bidirectional, outputs[k++ % outputs.Length]);
                    }
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Export_then_import_is_bit_identical_with_the_same_outputs(
        RecurrentCellKind cell, HiddenActivation hidden, int layers, bool bidirectional, OutputActivation output)
    {
        RecurrentModel<T> model = Model(cell, layers, bidirectional, output, hidden, dropout: layers > 1 ? 0.25 : 0);
        string path = Path.Combine(Path.GetTempPath(), $"rnncore-model-{Guid.NewGuid():N}.safetensors");
        RecurrentModel<T> fromFile;
        try
        {
            SafeTensors.Export(model, path);
            fromFile = SafeTensors.Import<T>(path);
        }
        finally
        {
            File.Delete(path);
        }

        using var stream = new MemoryStream();
        SafeTensors.Export(model, stream);
        RecurrentModel<T> fromStream = SafeTensors.Import<T>(new NonSeekableStream(stream.ToArray()));
        stream.ToArray().Should().Equal(SafeTensors.Serialize(model), "Export to a stream writes Serialize's bytes");

        foreach (RecurrentModel<T> imported in new[] { fromFile, fromStream })
        {
            imported.Options.Should().Be(model.Options with { Seed = 0 }, "cell, layers, directions, activations and dropout are recorded");
            ShouldHaveSameParameters(imported, model);
            var random = new Random(5);
            List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, I, 5, 3);
            List<Matrix<T>> h0 = ModelProblems.States(random, model, 3);
            List<Matrix<T>>? c0 = cell == RecurrentCellKind.Lstm ? ModelProblems.States(random, model, 3) : null;
            ForwardCache<T> expected = model.Forward(inputs, h0, c0);
            ForwardCache<T> actual = imported.Forward(inputs, h0, c0);
            for (int t = 0; t < 5; t++)
            {
                actual.Output(t).ToColumnMajorArray().Should().Equal(expected.Output(t).ToColumnMajorArray(), $"the same parameters give the same output at step {t}");
            }
        }
    }

    [Fact]
    public void The_file_holds_PyTorch_names_row_major_shapes_and_the_metadata()
    {
        RecurrentModel<T> model = Model(RecurrentCellKind.Lstm, 2, true, OutputActivation.Sigmoid, dropout: 0.5);
        (JsonObject header, byte[] data) = Split(SafeTensors.Serialize(model));

        JsonObject metadata = header["__metadata__"]!.AsObject();
        metadata.Select(p => (p.Key, (string)p.Value!)).Should().Equal(
            ("format", "pt"), ("producer", "RnnCore"), ("cell", "lstm"), ("num_layers", "2"), ("bidirectional", "true"),
            ("output_activation", "sigmoid"), ("dropout", "0.5"));
        header.Select(p => p.Key).Where(k => k != "__metadata__").Should().Equal(
            Enumerable.Range(0, model.Parameters.Count).Select(model.Parameters.GetName), "state_dict names in state_dict order");

        header["rnn.weight_ih_l1_reverse"]!["shape"]!.AsArray().Select(n => (long)n!).Should().Equal(4 * H, 2 * H);
        header["rnn.bias_hh_l0"]!["shape"]!.AsArray().Select(n => (long)n!).Should().Equal(4 * H);
        header["head.weight"]!["shape"]!.AsArray().Select(n => (long)n!).Should().Equal(O, 2 * H);
        foreach (string name in new[] { "rnn.weight_ih_l1_reverse", "rnn.weight_hh_l0", "head.weight" })
        {
            Matrix<T> parameter = model.Parameter(name);
            long begin = (long)header[name]!["data_offsets"]![0]!;
            for (int r = 0; r < parameter.RowCount; r++)
            {
                for (int c = 0; c < parameter.ColumnCount; c++)
                {
                    // Row-major, as torch.Tensor.numpy().tobytes() writes: element (r, c) at r · columns + c.
                    ReadElement(data, begin, (r * parameter.ColumnCount) + c).Should().Be(parameter[r, c], $"{name}[{r}, {c}]");
                }
            }
        }

        ((8 + BinaryPrimitives.ReadUInt64LittleEndian(SafeTensors.Serialize(model))) % 8).Should().Be(0, "the data starts 8-byte aligned");
    }

    [Fact]
    public void A_file_naming_a_cell_this_build_does_not_know_is_refused_not_read_as_another()
    {
        // An LSTM's tensors (four gate blocks) under a cell name this build has no description for.
        (JsonObject header, byte[] data) = Split(SafeTensors.Serialize(Model(RecurrentCellKind.Lstm, 1, false, OutputActivation.Softmax)));
        header["__metadata__"]!["cell"] = "peephole_lstm";
        Expect(
            Join(header, data),
            ModelFormatError.Invalid,
            "the file is not a safetensors RNN model RnnCore can read: __metadata__ records cell 'peephole_lstm', a cell this build of RnnCore does not know; it knows 'rnn', 'lstm', 'gru' or 'lstm_proj'.");
    }

    [Theory]
    [InlineData(RecurrentCellKind.Vanilla, 1, false)]
    [InlineData(RecurrentCellKind.Lstm, 2, true)]
    [InlineData(RecurrentCellKind.Gru, 3, true)]
    public void Without_metadata_the_model_is_inferred_from_names_and_shapes_under_any_module_names(RecurrentCellKind cell, int layers, bool bidirectional)
    {
        RecurrentModel<T> model = Model(cell, layers, bidirectional, OutputActivation.Softmax);
        (JsonObject header, byte[] data) = Split(SafeTensors.Serialize(model));
        header.Remove("__metadata__");
        byte[] file = Join(Rename(header, n => n.StartsWith("rnn.", StringComparison.Ordinal) ? "encoder.gru" + n[3..] : "fc" + n[4..]), data);

        RecurrentModel<T> imported = SafeTensors.Import<T>(new MemoryStream(file));

        imported.Options.Should().Be(model.Options with { Seed = 0 }, "tanh and softmax are the defaults, dropout 0");
        ShouldHaveSameParameters(imported, model);
    }

    [Fact]
    public void Arguments_that_contradict_the_file_are_refused_naming_the_argument_and_both_values()
    {
        byte[] vanilla = SafeTensors.Serialize(Model(RecurrentCellKind.Vanilla, 2, true, OutputActivation.Identity, HiddenActivation.Relu));
        byte[] lstm = SafeTensors.Serialize(Model(RecurrentCellKind.Lstm, 1, false, OutputActivation.Softmax));

        Refuse(lstm, "cell", "cell is Gru but the file holds Lstm (nn.LSTM: rnn.weight_hh_l0 is [16, 4], 4 gate block(s) of H = 4).", cell: RecurrentCellKind.Gru);
        Refuse(vanilla, "layers", "layers is 1 but the file holds 2 layer(s)*", layers: 1);
        Refuse(vanilla, "bidirectional", "bidirectional is False but the file holds a bidirectional model*", bidirectional: false);
        Refuse(vanilla, "hiddenActivation", "hiddenActivation is Tanh but the file records hidden_activation 'relu'*", hidden: HiddenActivation.Tanh);
        Refuse(lstm, "hiddenActivation", "hiddenActivation is Relu but the file holds nn.LSTM, whose activations are fixed*", hidden: HiddenActivation.Relu);
        Refuse(vanilla, "outputActivation", "outputActivation is Softmax but the file records output_activation 'identity'*", output: OutputActivation.Softmax);

        // Arguments that agree are accepted.
        SafeTensors.Import<T>(new MemoryStream(vanilla), RecurrentCellKind.Vanilla, 2, true, HiddenActivation.Relu, OutputActivation.Identity)
            .Options.HiddenActivation.Should().Be(HiddenActivation.Relu);
        SafeTensors.Import<T>(new MemoryStream(lstm), RecurrentCellKind.Lstm, hiddenActivation: HiddenActivation.Tanh).Options.Cell.Should().Be(RecurrentCellKind.Lstm);

        Action badEnum = () => SafeTensors.Import<T>(new MemoryStream(lstm), cell: (RecurrentCellKind)7);
        badEnum.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("cell");
        Action noLayers = () => SafeTensors.Import<T>(new MemoryStream(lstm), layers: 0);
        noLayers.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("layers");
    }

    [Fact]
    public void A_file_without_metadata_and_one_output_needs_the_output_activation()
    {
        RecurrentModel<T> model = new(new RecurrentModelOptions(I, H, 1) { Cell = RecurrentCellKind.Gru, OutputActivation = OutputActivation.Sigmoid });
        (JsonObject header, byte[] data) = Split(SafeTensors.Serialize(model));
        header.Remove("__metadata__");
        byte[] file = Join(header, data);
        Refuse(file, "outputActivation", "*O = 1 output*softmax over one output is always 1*");
        SafeTensors.Import<T>(new MemoryStream(file), outputActivation: OutputActivation.Sigmoid).Options.OutputActivation.Should().Be(OutputActivation.Sigmoid);
    }

    [Theory]
    [InlineData("cell", "gru", "*records cell 'gru' but the tensors hold nn.LSTM*")]
    [InlineData("num_layers", "3", "*records num_layers '3' but the tensors hold 2 layer(s)*")]
    [InlineData("bidirectional", "false", "*records bidirectional 'false' but the tensors are bidirectional*")]
    [InlineData("hidden_activation", "relu", "*records hidden_activation 'relu' but the tensors hold nn.LSTM*")]
    [InlineData("output_activation", "tanh", "*records output_activation 'tanh'; expected 'identity', 'sigmoid' or 'softmax'*")]
    [InlineData("dropout", "1.5", "*records dropout '1.5'; expected a probability in [0, 1)*")]
    public void Metadata_that_contradicts_the_tensors_is_refused(string key, string value, string message)
    {
        (JsonObject header, byte[] data) = Split(SafeTensors.Serialize(Model(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax)));
        header["__metadata__"]![key] = value;
        Expect(Join(header, data), ModelFormatError.Invalid, message);
    }

    [Fact]
    public void Missing_extra_misnamed_or_misshapen_tensors_are_refused_by_name()
    {
        (JsonObject header, byte[] data) = Split(SafeTensors.Serialize(Model(RecurrentCellKind.Gru, 2, true, OutputActivation.Softmax)));

        JsonObject missing = Copy(header);
        missing.Remove("rnn.bias_hh_l1_reverse");
        Expect(Join(missing, data), ModelFormatError.Invalid, "*lacks rnn.bias_hh_l1_reverse; a 2-layer bidirectional nn.GRU with biases*");

        JsonObject projection = Copy(header);
        projection["rnn.weight_hr_l0"] = Copy(header["head.bias"]!.AsObject());
        Expect(Join(projection, data), ModelFormatError.Invalid, "*rnn.weight_hr_l0 has shape [*]; expected [P, H] with 0 < P < H*");

        JsonObject bare = Rename(header, n => n.StartsWith("rnn.", StringComparison.Ordinal) ? n[4..] : n);
        Expect(Join(bare, data), ModelFormatError.Invalid, "*holds a tensor 'weight_ih_l0'*one recurrent module*");

        JsonObject noHead = Copy(header);
        noHead.Remove("head.weight");
        noHead.Remove("head.bias");
        Expect(Join(noHead, data), ModelFormatError.Invalid, "*holds no head*");

        JsonObject twoModules = Rename(header, n => n == "rnn.bias_hh_l1" ? "rnn2.bias_hh_l1" : n);
        Expect(Join(twoModules, data), ModelFormatError.Invalid, "*recurrent tensors of 2 modules (rnn, rnn2)*");

        JsonObject gap = Rename(header, n => n.Contains("_l1", StringComparison.Ordinal) ? n.Replace("_l1", "_l2", StringComparison.Ordinal) : n);
        Expect(Join(gap, data), ModelFormatError.Invalid, "*lacks rnn.weight_ih_l1, *");

        JsonObject misshapen = Copy(header);
        misshapen["rnn.weight_hh_l1"]!["shape"] = new JsonArray(3 * H, H + 1);
        Expect(Join(misshapen, data), ModelFormatError.Invalid, "*'rnn.weight_hh_l1' has shape [12, 5], 60 values of*but its data_offsets*this tensor is damaged*");

        // A shape that fits its own bytes but not the model the other tensors describe.
        JsonObject reshaped = Copy(header);
        reshaped["rnn.weight_hh_l1"]!["shape"] = new JsonArray(2 * H, 3 * H / 2);
        Expect(Join(reshaped, data), ModelFormatError.Invalid, "*rnn.weight_hh_l1 has shape [8, 6]; expected [12, 4] for nn.GRU*");

        JsonObject notGates = Copy(header);
        notGates["rnn.weight_hh_l0"]!["shape"] = new JsonArray(6 * H, H / 2); // its own bytes, but 12 blocks of 2
        Expect(Join(notGates, data), ModelFormatError.Invalid, "*rnn.weight_hh_l0 has shape [24, 2]; expected [G·H, H]*G = 1 (nn.RNN), 3 (nn.GRU) or 4 (nn.LSTM)*");

        JsonObject mixed = Copy(header);
        mixed["head.bias"]!["dtype"] = OtherDType;
        Expect(Join(mixed, data), ModelFormatError.Invalid, "*'head.bias' is*every tensor must have the same dtype*");
    }

    [Fact]
    public void The_other_dtype_is_refused_with_the_call_that_would_read_it()
    {
        (JsonObject header, byte[] data) = Split(SafeTensors.Serialize(Model(RecurrentCellKind.Vanilla, 1, false, OutputActivation.Softmax)));
        foreach (JsonNode? entry in header.Where(p => p.Key != "__metadata__").Select(p => p.Value).ToArray())
        {
            entry!["dtype"] = OtherDType;
        }

        // Same bytes, other dtype: the offsets no longer fit either, but the dtype is what the message must say first.
        Expect(Join(header, data), ModelFormatError.WrongElementType, $"*the tensors are {OtherDType} but {ThisType} needs {DType}; import with SafeTensors.Import<{OtherType}>, or convert in PyTorch with model.{ThisType}() before saving.");

        // Half precision: the same error, with the conversion to make (F16 halves each tensor's bytes).
        (JsonObject half, byte[] halfData) = Split(SafeTensors.Serialize(Model(RecurrentCellKind.Lstm, 1, false, OutputActivation.Softmax)));
        Expect(Join(Retyped(half, "F16"), halfData[..(halfData.Length * 2 / Size)]), ModelFormatError.WrongElementType,
            $"*the tensors are F16 (float16, half precision) but {ThisType} needs {DType}; RnnCore reads F32 and F64: convert in PyTorch with model.{ThisType}() before saving.");
        Expect(Join(Retyped(half, "BF16"), halfData[..(halfData.Length * 2 / Size)]), ModelFormatError.WrongElementType, "*the tensors are BF16 (bfloat16, half precision)*");
    }

    [Fact]
    public void A_damaged_or_transposed_tensor_is_reported_as_itself_not_through_the_tensors_compared_with_it()
    {
        (JsonObject header, byte[] data) = Split(SafeTensors.Serialize(Model(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax)));
        long begin = (long)header["rnn.weight_ih_l0"]!["data_offsets"]![0]!;
        long bytes = 4L * H * I * Size;

        // The declared shape disagrees with the tensor's own bytes.
        JsonObject wide = Copy(header);
        wide["rnn.weight_ih_l0"]!["shape"] = new JsonArray(4 * H, I + 1);
        ExpectNotNamingOthers(
            Join(wide, data),
            $"*'rnn.weight_ih_l0' has shape [16, 4], 64 values of {DType} ({64 * Size} bytes), but its data_offsets [{begin}, {begin + bytes}] span {bytes} bytes; this tensor is damaged*");

        // Transposed: the same bytes as [I, G·H]; G·H comes from W_hh, so W_ih is the one named.
        JsonObject transposed = Copy(header);
        transposed["rnn.weight_ih_l0"]!["shape"] = new JsonArray(I, 4 * H);
        ExpectNotNamingOthers(
            Join(transposed, data),
            "*rnn.weight_ih_l0 has shape [3, 16]; expected [G·H, I] = [16, I] with I positive (nn.LSTM with H = 4, from rnn.weight_hh_l0; is it transposed?).");

        JsonObject head = Copy(header);
        head["head.weight"]!["shape"] = new JsonArray(2 * H, O);
        ExpectNotNamingOthers(Join(head, data), "*head.weight has shape [8, 2]; expected [O, D·H] = [O, 8] with O positive (H = 4, bidirectional; is it transposed?).");
    }

    [Fact]
    public void Metadata_stating_more_layers_than_the_tensors_hold_is_refused()
    {
        // A 2-layer file with its second layer's tensors taken out and the rest repacked: the metadata still says 2.
        (JsonObject header, byte[] data) = Split(SafeTensors.Serialize(Model(RecurrentCellKind.Gru, 2, false, OutputActivation.Softmax)));
        (JsonObject oneLayer, byte[] oneLayerData) = Without(header, data, name => name.Contains("_l1", StringComparison.Ordinal));
        oneLayer["__metadata__"]!["num_layers"]!.GetValue<string>().Should().Be("2");
        Expect(Join(oneLayer, oneLayerData), ModelFormatError.Invalid, "*__metadata__ records num_layers '2' but the tensors hold 1 layer(s).");

        // The same file with the metadata corrected is a valid one-layer model.
        oneLayer["__metadata__"]!["num_layers"] = "1";
        SafeTensors.Import<T>(new MemoryStream(Join(oneLayer, oneLayerData))).Options.Layers.Should().Be(1);
    }

    private static string ThisType => typeof(T) == typeof(float) ? "float" : "double";

    private static string OtherType => typeof(T) == typeof(float) ? "double" : "float";

    private static void ExpectNotNamingOthers(byte[] file, string message)
    {
        Action import = () => SafeTensors.Import<T>(new MemoryStream(file));
        import.Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.Invalid).WithMessage(message)
            .Which.Message.Should().NotContain("_reverse").And.NotContain("_l1");
    }

    /// <summary>The header with every tensor's dtype set to <paramref name="dtype"/> of 2 bytes, offsets scaled to match.</summary>
    private static JsonObject Retyped(JsonObject header, string dtype)
    {
        JsonObject result = Copy(header);
        foreach ((string name, JsonNode? entry) in result.ToArray())
        {
            if (name != "__metadata__")
            {
                entry!["dtype"] = dtype;
                JsonArray offsets = entry["data_offsets"]!.AsArray();
                entry["data_offsets"] = new JsonArray((long)offsets[0]! * 2 / Size, (long)offsets[1]! * 2 / Size);
            }
        }

        return result;
    }

    /// <summary>The file without the tensors <paramref name="drop"/> selects, the others repacked contiguously in their order.</summary>
    private static (JsonObject Header, byte[] Data) Without(JsonObject header, byte[] data, Func<string, bool> drop)
    {
        JsonObject result = Copy(header);
        var kept = new List<byte>();
        foreach ((string name, JsonNode? entry) in result.Where(p => p.Key != "__metadata__").OrderBy(p => (long)p.Value!["data_offsets"]![0]!).ToArray())
        {
            if (drop(name))
            {
                result.Remove(name);
                continue;
            }

            long begin = (long)entry!["data_offsets"]![0]!, end = (long)entry["data_offsets"]![1]!;
            entry["data_offsets"] = new JsonArray(kept.Count, kept.Count + (end - begin));
            kept.AddRange(data[(int)begin..(int)end]);
        }

        return (result, kept.ToArray());
    }

    [Fact]
    public void Truncated_files_trailing_data_and_bad_offsets_are_refused_and_nothing_is_returned()
    {
        byte[] good = SafeTensors.Serialize(Model(RecurrentCellKind.Lstm, 2, true, OutputActivation.Softmax));
        for (int length = 0; length < good.Length; length += length < 64 ? 1 : 37)
        {
            Action import = () => SafeTensors.Import<T>(new MemoryStream(good[..length]));
            import.Should().Throw<ModelFormatException>($"a file cut at {length} of {good.Length} bytes is incomplete");
        }

        Expect(good[..^1], ModelFormatError.Truncated, "*truncated*tensor data*");
        Expect([], ModelFormatError.NotAModelFile, "*0 bytes long*");

        string path = Path.Combine(Path.GetTempPath(), $"rnncore-model-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, [.. good, 0, 0, 0, 0]);
            Action import = () => SafeTensors.Import<T>(path);
            import.Should().Throw<ModelFormatException>().WithMessage("*trailing data*");
        }
        finally
        {
            File.Delete(path);
        }

        (JsonObject header, byte[] data) = Split(good);
        JsonObject hole = Copy(header);
        hole["rnn.weight_ih_l0"]!["data_offsets"] = new JsonArray(8, 8 + (4 * H * I * Size));
        Expect(Join(hole, data), ModelFormatError.Invalid, "*'rnn.weight_ih_l0' starts at data offset 8 but the previous tensor ends at 0*contiguous*");
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void A_non_finite_value_is_refused_naming_the_tensor_and_element(double value)
    {
        (JsonObject header, byte[] data) = Split(SafeTensors.Serialize(Model(RecurrentCellKind.Gru, 2, false, OutputActivation.Softmax)));
        long begin = (long)header["rnn.weight_hh_l1"]!["data_offsets"]![0]!;
        WriteElement(data, begin, (2 * H) + 3, T.CreateTruncating(value));
        Expect(Join(header, data), ModelFormatError.Invalid, $"*rnn.weight_hh_l1 holds {T.CreateTruncating(value)} at [2, 3]; every parameter must be finite*");
    }

    [Fact]
    public void Exporting_a_non_finite_model_is_refused_and_leaves_an_existing_file_unchanged()
    {
        RecurrentModel<T> model = Model(RecurrentCellKind.Lstm, 1, true, OutputActivation.Softmax);
        string path = Path.Combine(Path.GetTempPath(), $"rnncore-model-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, [1, 2, 3]);
            model.Parameter("rnn.weight_hh_l0_reverse")[5, 2] = T.NaN;
            Action export = () => SafeTensors.Export(model, path);
            export.Should().Throw<ArgumentException>().WithMessage("network holds NaN in rnn.weight_hh_l0_reverse at [5, 2]*").Which.ParamName.Should().Be("network");
            File.ReadAllBytes(path).Should().Equal([1, 2, 3]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static int Size => Marshal.SizeOf<T>();

    private static RecurrentModel<T> Model(
        RecurrentCellKind cell, int layers, bool bidirectional, OutputActivation output, HiddenActivation hidden = HiddenActivation.Tanh, double dropout = 0)
        => new(new RecurrentModelOptions(I, H, O)
        {
            Cell = cell,
            Layers = layers,
            Bidirectional = bidirectional,
            HiddenActivation = hidden,
            OutputActivation = output,
            Dropout = dropout,
            Seed = 17,
        });

    private static void ShouldHaveSameParameters(RecurrentModel<T> actual, RecurrentModel<T> expected)
    {
        actual.Parameters.Count.Should().Be(expected.Parameters.Count);
        for (int k = 0; k < expected.Parameters.Count; k++)
        {
            actual.Parameters.GetName(k).Should().Be(expected.Parameters.GetName(k));
            MemoryMarshal.AsBytes(actual.Parameters[k]).SequenceEqual(MemoryMarshal.AsBytes(expected.Parameters[k]))
                .Should().BeTrue($"{expected.Parameters.GetName(k)} must round-trip bit for bit");
        }
    }

    private static void Refuse(
        byte[] file, string argument, string message, RecurrentCellKind? cell = null, int? layers = null, bool? bidirectional = null,
        HiddenActivation? hidden = null, OutputActivation? output = null)
    {
        Action import = () => SafeTensors.Import<T>(new MemoryStream(file), cell, layers, bidirectional, hidden, output);
        import.Should().Throw<ArgumentException>().WithMessage(message + " (Parameter '" + argument + "')").Which.ParamName.Should().Be(argument);
    }

    private static void Expect(byte[] file, ModelFormatError error, string message)
    {
        Action import = () => SafeTensors.Import<T>(new MemoryStream(file));
        import.Should().Throw<ModelFormatException>().Where(e => e.Error == error, $"the error should be {error}").WithMessage(message);
    }

    private static (JsonObject Header, byte[] Data) Split(byte[] file)
    {
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        return (JsonNode.Parse(Encoding.UTF8.GetString(file, 8, length))!.AsObject(), file[(8 + length)..]);
    }

    private static byte[] Join(JsonObject header, byte[] data)
    {
        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        byte[] file = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        data.CopyTo(file, 8 + json.Length);
        return file;
    }

    private static JsonObject Copy(JsonObject o) => JsonNode.Parse(o.ToJsonString())!.AsObject();

    private static JsonObject Rename(JsonObject header, Func<string, string> rename)
    {
        var result = new JsonObject();
        foreach ((string name, JsonNode? value) in header)
        {
            result[name == "__metadata__" ? name : rename(name)] = value?.DeepClone();
        }

        return result;
    }

    private static T ReadElement(byte[] data, long begin, int index)
        => Size == 4
            ? T.CreateTruncating(BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan((int)begin + (index * 4))))
            : T.CreateTruncating(BinaryPrimitives.ReadDoubleLittleEndian(data.AsSpan((int)begin + (index * 8))));

    private static void WriteElement(byte[] data, long begin, int index, T value)
    {
        if (Size == 4)
        {
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan((int)begin + (index * 4)), float.CreateTruncating(value));
        }
        else
        {
            BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan((int)begin + (index * 8)), double.CreateTruncating(value));
        }
    }
}

public sealed class ModelSafeTensorsTestsDouble : ModelSafeTensorsTests<double>;

public sealed class ModelSafeTensorsTestsSingle : ModelSafeTensorsTests<float>;
