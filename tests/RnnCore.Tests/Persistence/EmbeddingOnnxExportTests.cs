using MathNet.Numerics.LinearAlgebra;
using Microsoft.ML.OnnxRuntime;
using RnnCore.Models;
using RnnCore.Persistence;
using RnnCore.Tests.Models;
using RnnCore.Tests.TestUtilities;
using Xunit.Abstractions;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// The ONNX export of a network with an embedding, run by ONNX Runtime: the graph reads int64 token ids ([S, batch], or
/// [batch, S] batch-first) through a Gather of <c>embedding.weight</c>, and for GRU, LSTM and vanilla cells, one and two
/// layers, one and two directions, with a padding id and a padded batch of variable lengths (the padded positions hold
/// the padding id), from zero or given initial states, every output agrees with Forward on the same ids to 1e-5 (float32).
/// </summary>
public sealed class EmbeddingOnnxExportTests(ITestOutputHelper log)
{
    private const int V = 11, E = 3, H = 4, O = 3, Steps = 6, Batch = 4;
    private const double Tolerance = 1e-5;

    [Theory]
    [InlineData(RecurrentCellKind.Gru, 2, true, false)]
    [InlineData(RecurrentCellKind.Gru, 1, false, true)]
    [InlineData(RecurrentCellKind.Lstm, 2, true, true)]
    [InlineData(RecurrentCellKind.Lstm, 1, false, false)]
    [InlineData(RecurrentCellKind.Vanilla, 2, false, true)]
    public void OnnxRuntime_on_ids_matches_Forward_on_ids_with_variable_lengths_and_padding(RecurrentCellKind cell, int layers, bool bidirectional, bool batchFirst)
    {
        const int padding = 0;
        var model = new RecurrentModel<float>(new RecurrentModelOptions(E, H, O)
        {
            Cell = cell, Layers = layers, Bidirectional = bidirectional, VocabularySize = V, PaddingId = padding, Seed = 6,
            OutputActivation = OutputActivation.Softmax,
        });
        var random = new Random(3);
        int[] lengths = [Steps, 2, 5, 1];
        int[][] ids = Enumerable.Range(0, Steps).Select(t => Enumerable.Range(0, Batch).Select(b => t < lengths[b] ? random.Next(V) : padding).ToArray()).ToArray();
        int states = layers * model.Directions;
        List<Matrix<float>> h0 = Enumerable.Range(0, states).Select(_ => Matrix<float>.Build.Dense(H, Batch, (_, _) => (float)random.NextDouble() - 0.5f)).ToList();
        List<Matrix<float>>? c0 = cell == RecurrentCellKind.Lstm ? h0.Select(m => m * 0.5f).ToList() : null;

        ForwardCache<float> cache = model.CreateCache(Steps, Batch);
        model.Forward(ids, cache, h0, c0, lengths);

        using InferenceSession session = Session(OnnxExport.Serialize(model, new OnnxExportOptions { BatchFirst = batchFirst, SequenceLengths = true, InitialStates = true }));
        long[] x = new long[Steps * Batch];
        for (int t = 0; t < Steps; t++)
        {
            for (int b = 0; b < Batch; b++)
            {
                x[batchFirst ? (b * Steps) + t : (t * Batch) + b] = ids[t][b];
            }
        }

        var names = new List<string> { OnnxExport.InputName, OnnxExport.SequenceLengthsName, OnnxExport.InitialHiddenName };
        var values = new List<OrtValue>
        {
            OrtValue.CreateTensorValueFromMemory(x, batchFirst ? [Batch, Steps] : [Steps, Batch]),
            OrtValue.CreateTensorValueFromMemory((int[])lengths.Clone(), [Batch]),
            OrtValue.CreateTensorValueFromMemory(ModelOnnxExportTests.Pack(h0, H), [states, Batch, H]),
        };
        if (c0 is not null)
        {
            names.Add(OnnxExport.InitialCellName);
            values.Add(OrtValue.CreateTensorValueFromMemory(ModelOnnxExportTests.Pack(c0, H), [states, Batch, H]));
        }

        string[] outputs = c0 is null
            ? [OnnxExport.OutputName, OnnxExport.LogitsName, OnnxExport.HiddenStatesName, OnnxExport.FinalHiddenName]
            : [OnnxExport.OutputName, OnnxExport.LogitsName, OnnxExport.HiddenStatesName, OnnxExport.FinalHiddenName, OnnxExport.FinalCellName];
        using IDisposableReadOnlyCollection<OrtValue> results = session.Run(new RunOptions(), names, values, outputs);
        values.ForEach(v => v.Dispose());

        double worst = ModelOnnxExportTests.MaxError(results[0], Steps, Batch, O, cache.Output, lengths, batchFirst);
        worst = Math.Max(worst, ModelOnnxExportTests.MaxError(results[1], Steps, Batch, O, cache.Logit, lengths, batchFirst));
        worst = Math.Max(worst, ModelOnnxExportTests.MaxError(results[2], Steps, Batch, model.Directions * H, cache.Hidden, lengths, batchFirst));
        worst = Math.Max(worst, ModelOnnxExportTests.MaxError(results[3], states, Batch, H, cache.FinalHidden, null));
        if (c0 is not null)
        {
            worst = Math.Max(worst, ModelOnnxExportTests.MaxError(results[4], states, Batch, H, cache.FinalCell, null));
        }

        log.WriteLine($"{cell} L={layers} D={model.Directions} batch-first {batchFirst}: worst |ONNX Runtime - Forward| = {worst:E2}");
        worst.Should().BeLessThanOrEqualTo(Tolerance);
        worst.Should().BeGreaterThan(0, "float32 sums in another order differ somewhere; an exact zero would mean nothing was compared");
    }

    [Fact]
    public void A_default_export_reads_full_length_ids_from_zero_states()
    {
        var model = new RecurrentModel<double>(new RecurrentModelOptions(E, H, O) { Cell = RecurrentCellKind.Gru, VocabularySize = V, Seed = 2 });
        int[][] ids = TokenInputTests.RandomIds(new Random(8), V);
        using InferenceSession session = Session(OnnxExport.Serialize(model));
        long[] x = ids.SelectMany(step => step.Select(id => (long)id)).ToArray();
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(x, [ids.Length, ids[0].Length]);
        using IDisposableReadOnlyCollection<OrtValue> results = session.Run(new RunOptions(), [OnnxExport.InputName], [input], [OnnxExport.OutputName]);
        ForwardCache<double> cache = model.Forward(ids);
        double worst = ModelOnnxExportTests.MaxError(results[0], ids.Length, ids[0].Length, O, t => cache.Output(t).Map(v => (float)v), null);
        worst.Should().BeLessThanOrEqualTo(Tolerance);
    }

    private static InferenceSession Session(byte[] onnx)
    {
        string logId = Guid.NewGuid().ToString("N");
        using var options = new SessionOptions { LogId = logId };
        var session = new InferenceSession(onnx, options);
        OnnxRuntimeLog.For(logId, OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING).Should().BeEmpty("loading the exported model prints nothing into the user's console");
        return session;
    }
}
