using MathNet.Numerics.LinearAlgebra;
using Microsoft.ML.OnnxRuntime;
using RnnCore.Models;
using RnnCore.Persistence;
using RnnCore.Tests.Models;
using RnnCore.Tests.TestUtilities;
using Xunit.Abstractions;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// The ONNX export of <see cref="RecurrentModel{T}"/>, run by ONNX Runtime: for vanilla (tanh, ReLU), LSTM and GRU cells
/// x {1, 2} layers x {uni, bi}, one session serves batches of other sizes and lengths, full-length from zero states and
/// padded (sequence_lens) from given h_0 / c_0, and every output agrees with Forward to 1e-5 in float32.
/// </summary>
public sealed class ModelOnnxExportTests(ITestOutputHelper log)
{
    private const int I = 3, H = 5, O = 4;
    private const double Tolerance = 1e-5;

    public static TheoryData<RecurrentCellKind, HiddenActivation, int, bool> Shapes
    {
        get
        {
            var data = new TheoryData<RecurrentCellKind, HiddenActivation, int, bool>();
            foreach ((RecurrentCellKind cell, HiddenActivation hidden) in new[]
            {
                (RecurrentCellKind.Vanilla, HiddenActivation.Tanh), (RecurrentCellKind.Vanilla, HiddenActivation.Relu),
                (RecurrentCellKind.Lstm, HiddenActivation.Tanh), (RecurrentCellKind.Gru, HiddenActivation.Tanh),
            })
            {
                foreach (int layers in new[] { 1, 2 })
                {
                    foreach (bool bidirectional in new[] { false, true })
                    {
                        data.Add(cell, hidden, layers, bidirectional);
                    }
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void OnnxRuntime_matches_Forward_for_any_length_and_batch_for_mixed_lengths_and_given_initial_states(
        RecurrentCellKind cell, HiddenActivation hidden, int layers, bool bidirectional)
    {
        OutputActivation output = cell switch { RecurrentCellKind.Gru => OutputActivation.Sigmoid, RecurrentCellKind.Lstm => OutputActivation.Softmax, _ => OutputActivation.Identity };
        var model = new RecurrentModel<float>(new RecurrentModelOptions(I, H, O)
        {
            Cell = cell, Layers = layers, Bidirectional = bidirectional, HiddenActivation = hidden, OutputActivation = output, Seed = 23,
        });
        using InferenceSession session = Session(OnnxExport.Serialize(model));
        using InferenceSession batchFirst = Session(OnnxExport.Serialize(model, new OnnxExportOptions { BatchFirst = true }));
        double worst = 0;

        // Full-length batches of two shapes from one session, nothing but the input fed (zero states); also batch-first.
        foreach ((int steps, int batch) in new[] { (7, 3), (2, 1) })
        {
            List<Matrix<float>> inputs = RandomProblems.Inputs<float>(new Random(steps), I, steps, batch);
            worst = Math.Max(worst, Compare(session, model, inputs, lengths: null, h0: null, c0: null, $"T={steps}, B={batch}"));
            worst = Math.Max(worst, Compare(batchFirst, model, inputs, lengths: null, h0: null, c0: null, $"batch-first T={steps}, B={batch}", batchFirst: true));
        }

        // A padded batch with its lengths, given h_0 (and c_0), padding filled with large values that must not matter.
        int[] mixed = [6, 2, 5, 1];
        var random = new Random(31);
        List<Matrix<float>> padded = RandomProblems.Inputs<float>(random, I, 6, mixed.Length);
        for (int b = 0; b < mixed.Length; b++)
        {
            for (int t = mixed[b]; t < 6; t++)
            {
                padded[t].SetColumn(b, Enumerable.Repeat(50f, I).ToArray());
            }
        }

        List<Matrix<float>> h0 = ModelProblems.States(random, model, mixed.Length);
        List<Matrix<float>>? c0 = cell == RecurrentCellKind.Lstm ? ModelProblems.States(random, model, mixed.Length) : null;
        using InferenceSession full = Session(OnnxExport.Serialize(model, new OnnxExportOptions { SequenceLengths = true, InitialStates = true }));
        using InferenceSession fullBatchFirst = Session(OnnxExport.Serialize(model, new OnnxExportOptions { SequenceLengths = true, InitialStates = true, BatchFirst = true }));
        worst = Math.Max(worst, Compare(full, model, padded, mixed, h0, c0, "lengths 6, 2, 5, 1 with h0"));
        worst = Math.Max(worst, Compare(fullBatchFirst, model, padded, mixed, h0, c0, "batch-first, lengths 6, 2, 5, 1 with h0", batchFirst: true));
        log.WriteLine($"{cell} {hidden} L={layers} {(bidirectional ? "bi" : "uni")}: worst |ONNX Runtime - Forward| = {worst:E2}");
    }

    [Fact]
    public void The_inputs_are_those_the_options_ask_for_none_an_initializer_and_the_graph_is_symbolic_in_sequence_and_batch()
    {
        var model = new RecurrentModel<float>(new RecurrentModelOptions(I, H, O) { Cell = RecurrentCellKind.Lstm, Layers = 2, Bidirectional = true });
        using InferenceSession session = Session(OnnxExport.Serialize(model));
        session.InputMetadata.Keys.Should().Equal(OnnxExport.InputName);
        session.InputMetadata[OnnxExport.InputName].SymbolicDimensions.Should().Equal("sequence", "batch", string.Empty);
        session.OverridableInitializerMetadata.Should().BeEmpty("no initializer is also a graph input");
        session.OutputMetadata.Keys.Should().BeEquivalentTo(
            [OnnxExport.OutputName, OnnxExport.LogitsName, OnnxExport.HiddenStatesName, OnnxExport.FinalHiddenName, OnnxExport.FinalCellName]);
        session.OutputMetadata[OnnxExport.HiddenStatesName].Dimensions.Should().Equal(-1, -1, 2 * H);

        using InferenceSession all = Session(OnnxExport.Serialize(model, new OnnxExportOptions { BatchFirst = true, SequenceLengths = true, InitialStates = true }));
        all.InputMetadata.Keys.Should().Equal(OnnxExport.InputName, OnnxExport.SequenceLengthsName, OnnxExport.InitialHiddenName, OnnxExport.InitialCellName);
        all.OverridableInitializerMetadata.Should().BeEmpty();
        all.InputMetadata[OnnxExport.InputName].SymbolicDimensions.Should().Equal("batch", "sequence", string.Empty);
        all.InputMetadata[OnnxExport.SequenceLengthsName].ElementType.Should().Be(typeof(int));
        all.InputMetadata[OnnxExport.InitialHiddenName].Dimensions.Should().Equal(4, -1, H);
        all.OutputMetadata[OnnxExport.OutputName].SymbolicDimensions.Should().Equal("batch", "sequence", string.Empty);
        all.OutputMetadata[OnnxExport.FinalHiddenName].SymbolicDimensions.Should().Equal(new[] { string.Empty, "batch", string.Empty }, "h_n stays [L·D, batch, H], as PyTorch's");
    }

    [Fact]
    public void Loading_logs_no_warning_and_the_log_capture_sees_one_when_an_initializer_is_also_an_input()
    {
        OnnxRuntimeLog.IsInstalled.Should().BeTrue("the module initializer created ONNX Runtime's environment with the capturing log function");
        foreach (RecurrentCellKind cell in new[] { RecurrentCellKind.Vanilla, RecurrentCellKind.Lstm, RecurrentCellKind.Gru })
        {
            var model = new RecurrentModel<float>(new RecurrentModelOptions(I, H, O) { Cell = cell, Layers = 2, Bidirectional = true });
            foreach (OnnxExportOptions options in new OnnxExportOptions[]
            {
                new(), new() { BatchFirst = true }, new() { SequenceLengths = true }, new() { InitialStates = true },
                new() { BatchFirst = true, SequenceLengths = true, InitialStates = true },
            })
            {
                using InferenceSession session = Session(OnnxExport.Serialize(model, options)); // asserts that nothing was logged
            }
        }

        // The canary: the same graph with head_bias, an initializer, also listed as a graph input (a second graph field
        // merges into the first, as protobuf merges a repeated message field) is what ONNX Runtime warns about.
        var lstm = new RecurrentModel<float>(new RecurrentModelOptions(I, H, O) { Cell = RecurrentCellKind.Lstm });
        byte[] overridable = [.. OnnxExport.Serialize(lstm), .. new ProtobufWriter().Message(7, graph => graph.Message(11, v => v.String(1, "head_bias")
            .Message(2, type => type.Message(1, tensor => tensor.Int(1, 1).Message(2, shape => shape.Message(1, dim => dim.Int(1, O))))))).ToArray()];
        string logId = Guid.NewGuid().ToString("N");
        using (var options = new SessionOptions { LogId = logId })
        using (var session = new InferenceSession(overridable, options))
        {
            session.OverridableInitializerMetadata.Keys.Should().Equal("head_bias");
        }

        OnnxRuntimeLog.For(logId, OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING).Should().ContainMatch("*Initializer head_bias appears in graph inputs*");
    }

    [Fact]
    public void Past_a_sequence_s_length_the_states_are_zero_and_the_output_is_the_head_of_zero_as_in_Forward()
    {
        var model = new RecurrentModel<float>(new RecurrentModelOptions(I, H, O) { Cell = RecurrentCellKind.Gru, Layers = 2, Bidirectional = true, OutputActivation = OutputActivation.Identity });
        using InferenceSession session = Session(OnnxExport.Serialize(model, new OnnxExportOptions { SequenceLengths = true }));
        int[] lengths = [4, 1];
        List<Matrix<float>> inputs = RandomProblems.Inputs<float>(new Random(2), I, 4, 2);
        using IDisposableReadOnlyCollection<OrtValue> results = Run(session, model, inputs, lengths, null, null);
        ReadOnlySpan<float> states = results[2].GetTensorDataAsSpan<float>();
        ReadOnlySpan<float> logits = results[1].GetTensorDataAsSpan<float>();
        ForwardCache<float> cache = model.CreateCache(4, 2);
        model.Forward(inputs, cache, lengths: lengths);
        Matrix<float> bias = model.Parameter("head.bias");
        for (int t = 1; t < 4; t++)
        {
            for (int j = 0; j < 2 * H; j++)
            {
                states[(((t * 2) + 1) * 2 * H) + j].Should().Be(0, $"hidden_states[{t}, 1, {j}] is past sequence 1's length");
                cache.Hidden(t)[j, 1].Should().Be(0, "Forward's top hidden state is zero there too");
            }

            for (int k = 0; k < O; k++)
            {
                logits[(((t * 2) + 1) * O) + k].Should().Be(bias[k, 0], "the head of a zero state is its bias");
                cache.Logit(t)[k, 1].Should().Be(bias[k, 0]);
            }
        }
    }

    [Fact]
    public void A_double_model_exports_with_float32_weights_and_matches_Forward()
    {
        var model = new RecurrentModel<double>(new RecurrentModelOptions(I, H, O) { Cell = RecurrentCellKind.Lstm, Layers = 2, Bidirectional = true, Seed = 4 });
        using InferenceSession session = Session(OnnxExport.Serialize(model));
        List<Matrix<double>> inputs = RandomProblems.Inputs<double>(new Random(9), I, 5, 2);
        float[] x = Pack(inputs, I);
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(x, [5, 2, I]);
        using IDisposableReadOnlyCollection<OrtValue> results = session.Run(new RunOptions(), [OnnxExport.InputName], [input], [OnnxExport.OutputName]);
        ForwardCache<double> cache = model.Forward(inputs);
        double worst = MaxError(results[0], 5, 2, O, t => cache.Output(t).Map(v => (float)v), null);
        log.WriteLine($"double LSTM L=2 bi: worst |ONNX Runtime - Forward| = {worst:E2}");
        worst.Should().BeLessThanOrEqualTo(Tolerance);
    }

    [Fact]
    public void Save_writes_Serialize_s_bytes_and_a_non_finite_model_is_refused()
    {
        var model = new RecurrentModel<float>(new RecurrentModelOptions(I, H, O) { Cell = RecurrentCellKind.Gru });
        string path = Path.Combine(Path.GetTempPath(), $"rnncore-model-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExport.Save(model, path);
            File.ReadAllBytes(path).Should().Equal(OnnxExport.Serialize(model));
            using var stream = new MemoryStream();
            OnnxExport.Save(model, stream);
            stream.ToArray().Should().Equal(OnnxExport.Serialize(model));

            model.Parameter("rnn.bias_hh_l0")[2, 0] = float.PositiveInfinity;
            Action save = () => OnnxExport.Save(model, path);
            save.Should().Throw<ArgumentException>().WithMessage($"network holds {float.PositiveInfinity} in rnn.bias_hh_l0*").Which.ParamName.Should().Be("network");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// A session on <paramref name="onnx"/> under a log id of its own, asserting that ONNX Runtime logged no warning or
    /// error while loading it (see <see cref="OnnxRuntimeLog"/>).
    /// </summary>
    private static InferenceSession Session(byte[] onnx)
    {
        string logId = Guid.NewGuid().ToString("N");
        using var options = new SessionOptions { LogId = logId };
        var session = new InferenceSession(onnx, options);
        OnnxRuntimeLog.For(logId, OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING).Should().BeEmpty("loading the exported model prints nothing into the user's console");
        return session;
    }

    /// <summary>Runs the session and Forward on the same batch and returns the worst absolute difference (asserting ≤ 1e-5).</summary>
    private static double Compare(
        InferenceSession session, RecurrentModel<float> model, List<Matrix<float>> inputs, int[]? lengths, List<Matrix<float>>? h0, List<Matrix<float>>? c0, string label,
        bool batchFirst = false)
    {
        int steps = inputs.Count, batch = inputs[0].ColumnCount, d = model.Directions, states = model.Layers * d;
        ForwardCache<float> cache = model.CreateCache(steps, batch);
        model.Forward(inputs, cache, h0, c0, lengths);
        using IDisposableReadOnlyCollection<OrtValue> results = Run(session, model, inputs, lengths, h0, c0, batchFirst);

        double worst = 0;
        worst = Math.Max(worst, Check(results[0], steps, batch, O, cache.Output, lengths, label + " output", batchFirst));
        worst = Math.Max(worst, Check(results[1], steps, batch, O, cache.Logit, lengths, label + " logits", batchFirst));
        worst = Math.Max(worst, Check(results[2], steps, batch, d * H, cache.Hidden, lengths, label + " hidden_states", batchFirst));
        worst = Math.Max(worst, Check(results[3], states, batch, H, cache.FinalHidden, null, label + " final_hidden"));
        if (model.Options.Cell == RecurrentCellKind.Lstm)
        {
            worst = Math.Max(worst, Check(results[4], states, batch, H, cache.FinalCell, null, label + " final_cell"));
        }

        return worst;
    }

    private static IDisposableReadOnlyCollection<OrtValue> Run(
        InferenceSession session, RecurrentModel<float> model, List<Matrix<float>> inputs, int[]? lengths, List<Matrix<float>>? h0, List<Matrix<float>>? c0,
        bool batchFirst = false)
    {
        int steps = inputs.Count, batch = inputs[0].ColumnCount, states = model.Layers * model.Directions;
        var names = new List<string> { OnnxExport.InputName };
        var values = new List<OrtValue>
        {
            batchFirst
                ? OrtValue.CreateTensorValueFromMemory(PackBatchFirst(inputs, I), [batch, steps, I])
                : OrtValue.CreateTensorValueFromMemory(Pack(inputs, I), [steps, batch, I]),
        };
        if (lengths is not null)
        {
            names.Add(OnnxExport.SequenceLengthsName);
            values.Add(OrtValue.CreateTensorValueFromMemory((int[])lengths.Clone(), [batch]));
        }

        if (h0 is not null)
        {
            names.Add(OnnxExport.InitialHiddenName);
            values.Add(OrtValue.CreateTensorValueFromMemory(Pack(h0, H), [states, batch, H]));
        }

        if (c0 is not null)
        {
            names.Add(OnnxExport.InitialCellName);
            values.Add(OrtValue.CreateTensorValueFromMemory(Pack(c0, H), [states, batch, H]));
        }

        string[] outputs = model.Options.Cell == RecurrentCellKind.Lstm
            ? [OnnxExport.OutputName, OnnxExport.LogitsName, OnnxExport.HiddenStatesName, OnnxExport.FinalHiddenName, OnnxExport.FinalCellName]
            : [OnnxExport.OutputName, OnnxExport.LogitsName, OnnxExport.HiddenStatesName, OnnxExport.FinalHiddenName];
        try
        {
            return session.Run(new RunOptions(), names, values, outputs);
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    private static double Check(OrtValue value, int n, int batch, int size, Func<int, Matrix<float>> expectedAt, int[]? lengths, string label, bool batchFirst = false)
    {
        if (batchFirst)
        {
            value.GetTensorTypeAndShape().Shape.Should().Equal([batch, n, size], $"{label} has shape [{batch}, {n}, {size}]");
        }
        else
        {
            value.GetTensorTypeAndShape().Shape.Should().Equal([n, batch, size], $"{label} has shape [{n}, {batch}, {size}]");
        }

        double worst = MaxError(value, n, batch, size, expectedAt, lengths, batchFirst);
        worst.Should().BeLessThanOrEqualTo(Tolerance, label);
        return worst;
    }

    /// <summary>The worst |ONNX − expected| over [n, batch, size] (or [batch, n, size]); with lengths, over the real steps only.</summary>
    internal static double MaxError(OrtValue value, int n, int batch, int size, Func<int, Matrix<float>> expectedAt, int[]? lengths, bool batchFirst = false)
    {
        ReadOnlySpan<float> actual = value.GetTensorDataAsSpan<float>();
        double worst = 0;
        for (int t = 0; t < n; t++)
        {
            Matrix<float> expected = expectedAt(t);
            for (int b = 0; b < batch; b++)
            {
                if (lengths is not null && t >= lengths[b])
                {
                    continue;
                }

                for (int k = 0; k < size; k++)
                {
                    int at = batchFirst ? (((b * n) + t) * size) + k : (((t * batch) + b) * size) + k;
                    worst = Math.Max(worst, Math.Abs(actual[at] - expected[k, b]));
                }
            }
        }

        return worst;
    }

    /// <summary>n matrices of rows x B as a row-major [B, n, rows] float tensor (PyTorch's batch_first).</summary>
    private static float[] PackBatchFirst(IReadOnlyList<Matrix<float>> matrices, int rows)
    {
        int batch = matrices[0].ColumnCount;
        float[] result = new float[matrices.Count * batch * rows];
        for (int t = 0; t < matrices.Count; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                for (int k = 0; k < rows; k++)
                {
                    result[(((b * matrices.Count) + t) * rows) + k] = matrices[t][k, b];
                }
            }
        }

        return result;
    }

    /// <summary>n matrices of rows x B as a row-major [n, B, rows] float tensor.</summary>
    internal static float[] Pack<T>(IReadOnlyList<Matrix<T>> matrices, int rows)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int batch = matrices[0].ColumnCount;
        float[] result = new float[matrices.Count * batch * rows];
        for (int t = 0; t < matrices.Count; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                for (int k = 0; k < rows; k++)
                {
                    result[(((t * batch) + b) * rows) + k] = float.CreateTruncating(matrices[t][k, b]);
                }
            }
        }

        return result;
    }
}
