using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using Microsoft.ML.OnnxRuntime;
using RnnCore.Models;
using RnnCore.Persistence;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// The exported ONNX graph, run by ONNX Runtime, gives what <c>RecurrentLayer.Forward</c>
/// gives: every output, logit and hidden state of every step and sequence, for every hidden x output activation.
/// </summary>
public abstract class OnnxExportTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static TheoryData<HiddenActivation, OutputActivation> Activations
    {
        get
        {
            var data = new TheoryData<HiddenActivation, OutputActivation>();
            foreach (HiddenActivation hidden in Enum.GetValues<HiddenActivation>())
            {
                foreach (OutputActivation output in Enum.GetValues<OutputActivation>())
                {
                    data.Add(hidden, output);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Activations))]
    public void OnnxRuntime_matches_Forward_for_every_step_and_sequence(HiddenActivation hidden, OutputActivation output)
    {
        const int inputSize = 3, hiddenSize = 5, outputSize = 4, steps = 6, batch = 3;
        var layer = new RecurrentLayer<T>(inputSize, hiddenSize, outputSize, hidden, output, seed: 7);
        var random = new Random(11);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, inputSize, steps, batch);
        ForwardCache<T> expected = layer.Forward(inputs);

        using var session = new InferenceSession(OnnxExport.Serialize(layer));
        float[] x = new float[steps * batch * inputSize];
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                for (int k = 0; k < inputSize; k++)
                {
                    x[(((t * batch) + b) * inputSize) + k] = float.CreateTruncating(inputs[t][k, b]);
                }
            }
        }

        using OrtValue input = OrtValue.CreateTensorValueFromMemory(x, [steps, batch, inputSize]);
        string[] names = [OnnxExport.OutputName, OnnxExport.LogitsName, OnnxExport.HiddenStatesName, OnnxExport.FinalHiddenName];
        using IDisposableReadOnlyCollection<OrtValue> results = session.Run(new RunOptions(), [OnnxExport.InputName], [input], names);

        Check(results[0], [steps, batch, outputSize], expected.Output, "output");
        Check(results[1], [steps, batch, outputSize], expected.Logit, "logits");
        Check(results[2], [steps, batch, hiddenSize], expected.Hidden, "hidden_states");
        Check(results[3], [1, batch, hiddenSize], _ => expected.FinalHidden(0), "final_hidden");
    }

    [Fact]
    public void One_session_serves_any_sequence_length_and_batch()
    {
        var layer = new RecurrentLayer<T>(2, 3, 4, seed: 3);
        using var session = new InferenceSession(OnnxExport.Serialize(layer));
        foreach ((int steps, int batch) in new[] { (1, 1), (9, 1), (2, 5) })
        {
            List<Matrix<T>> inputs = RandomProblems.Inputs<T>(new Random(steps + batch), 2, steps, batch);
            float[] x = new float[steps * batch * 2];
            for (int t = 0; t < steps; t++)
            {
                for (int b = 0; b < batch; b++)
                {
                    for (int k = 0; k < 2; k++)
                    {
                        x[(((t * batch) + b) * 2) + k] = float.CreateTruncating(inputs[t][k, b]);
                    }
                }
            }

            using OrtValue input = OrtValue.CreateTensorValueFromMemory(x, [steps, batch, 2]);
            using IDisposableReadOnlyCollection<OrtValue> results = session.Run(new RunOptions(), [OnnxExport.InputName], [input], [OnnxExport.OutputName]);
            Check(results[0], [steps, batch, 4], layer.Forward(inputs).Output, $"output for T={steps}, B={batch}");
        }
    }

    [Fact]
    public void The_graph_declares_its_inputs_and_outputs_with_symbolic_sequence_and_batch()
    {
        var layer = new RecurrentLayer<T>(2, 3, 4, seed: 1);
        using var session = new InferenceSession(OnnxExport.Serialize(layer));
        session.InputMetadata.Keys.Should().Equal(OnnxExport.InputName);
        session.InputMetadata[OnnxExport.InputName].Dimensions.Should().Equal(-1, -1, 2);
        session.InputMetadata[OnnxExport.InputName].SymbolicDimensions.Should().Equal("sequence", "batch", string.Empty);
        session.InputMetadata[OnnxExport.InputName].ElementType.Should().Be(typeof(float));
        session.OutputMetadata.Keys.Should().BeEquivalentTo(
            [OnnxExport.OutputName, OnnxExport.LogitsName, OnnxExport.HiddenStatesName, OnnxExport.FinalHiddenName]);
        session.ModelMetadata.ProducerName.Should().Be("RnnCore");
    }

    [Fact]
    public void Batch_first_gives_the_sequence_first_results_transposed_and_loads_without_a_warning()
    {
        const int steps = 4, batch = 3, inputSize = 2, outputSize = 4, hiddenSize = 3;
        var layer = new RecurrentLayer<T>(inputSize, hiddenSize, outputSize, seed: 5);
        string logId = Guid.NewGuid().ToString("N");
        using var options = new SessionOptions { LogId = logId };
        using var sequenceFirst = new InferenceSession(OnnxExport.Serialize(layer), options);
        using var batchFirst = new InferenceSession(OnnxExport.Serialize(layer, new OnnxExportOptions { BatchFirst = true }), options);
        OnnxRuntimeLog.For(logId, OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING).Should().BeEmpty();
        batchFirst.InputMetadata[OnnxExport.InputName].SymbolicDimensions.Should().Equal("batch", "sequence", string.Empty);

        // x[t, b, k] = t + 10 b + 100 k, sent as [S, B, I] to one session and as [B, S, I] to the other.
        float[] x = new float[steps * batch * inputSize], xBatchFirst = new float[x.Length];
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < batch; b++)
            {
                for (int k = 0; k < inputSize; k++)
                {
                    x[(((t * batch) + b) * inputSize) + k] = xBatchFirst[(((b * steps) + t) * inputSize) + k] = 0.01f * (t + (10 * b) + (100 * k));
                }
            }
        }

        string[] names = [OnnxExport.OutputName, OnnxExport.LogitsName, OnnxExport.HiddenStatesName, OnnxExport.FinalHiddenName];
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(x, [steps, batch, inputSize]);
        using OrtValue inputBatchFirst = OrtValue.CreateTensorValueFromMemory(xBatchFirst, [batch, steps, inputSize]);
        using IDisposableReadOnlyCollection<OrtValue> expected = sequenceFirst.Run(new RunOptions(), [OnnxExport.InputName], [input], names);
        using IDisposableReadOnlyCollection<OrtValue> actual = batchFirst.Run(new RunOptions(), [OnnxExport.InputName], [inputBatchFirst], names);
        foreach ((int index, int size) in new[] { (0, outputSize), (1, outputSize), (2, hiddenSize) })
        {
            actual[index].GetTensorTypeAndShape().Shape.Should().Equal(batch, steps, size);
            ReadOnlySpan<float> a = actual[index].GetTensorDataAsSpan<float>(), e = expected[index].GetTensorDataAsSpan<float>();
            for (int t = 0; t < steps; t++)
            {
                for (int b = 0; b < batch; b++)
                {
                    a.Slice(((b * steps) + t) * size, size).ToArray().Should().Equal(e.Slice(((t * batch) + b) * size, size).ToArray(), $"{names[index]}[{b}, {t}] is the same computation");
                }
            }
        }

        actual[3].GetTensorDataAsSpan<float>().ToArray().Should().Equal(expected[3].GetTensorDataAsSpan<float>().ToArray(), "final_hidden stays [1, B, H]");

        // The layer is exported as every network is: it takes the optional inputs too.
        using var withInputs = new InferenceSession(OnnxExport.Serialize(layer, new OnnxExportOptions { SequenceLengths = true, InitialStates = true }), options);
        withInputs.InputMetadata.Keys.Should().BeEquivalentTo(OnnxExport.InputName, OnnxExport.SequenceLengthsName, OnnxExport.InitialHiddenName);
    }

    [Fact]
    public void Save_to_a_path_writes_the_same_bytes_as_Serialize()
    {
        var layer = new RecurrentLayer<T>(2, 3, 4, seed: 1);
        string path = Path.Combine(Path.GetTempPath(), $"rnncore-onnx-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExport.Save(layer, path);
            File.ReadAllBytes(path).Should().Equal(OnnxExport.Serialize(layer));
            using var stream = new MemoryStream();
            OnnxExport.Save(layer, stream);
            stream.ToArray().Should().Equal(OnnxExport.Serialize(layer));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void Check(OrtValue value, long[] shape, Func<int, Matrix<T>> expectedAt, string label)
    {
        value.GetTensorTypeAndShape().Shape.Should().Equal(shape, $"{label} has shape [{string.Join(", ", shape)}]");
        ReadOnlySpan<float> actual = value.GetTensorDataAsSpan<float>();
        int steps = (int)shape[0], batch = (int)shape[1], size = (int)shape[2];
        double[] expected = new double[actual.Length];
        double[] got = new double[actual.Length];
        for (int t = 0; t < steps; t++)
        {
            Matrix<T> m = expectedAt(t);
            for (int b = 0; b < batch; b++)
            {
                for (int k = 0; k < size; k++)
                {
                    int index = (((t * batch) + b) * size) + k;
                    expected[index] = double.CreateTruncating(m[k, b]);
                    got[index] = actual[index];
                }
            }
        }

        // float32 arithmetic in ONNX Runtime (and float32-rounded weights for a double layer).
        Tolerance.AssertClose(label, expected, got, 1e-5);
    }
}

public sealed class OnnxExportTestsDouble : OnnxExportTests<double>;

public sealed class OnnxExportTestsSingle : OnnxExportTests<float>;
