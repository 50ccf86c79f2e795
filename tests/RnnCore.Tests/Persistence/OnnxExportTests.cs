using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using Microsoft.ML.OnnxRuntime;
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
