using System.Buffers.Binary;
using System.Numerics;
using System.Text.Json;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Persistence;
using RnnCore.Tests.Persistence;
using Xunit.Abstractions;

namespace RnnCore.Tests.Models;

/// <summary>
/// The safetensors files of LSTMs with projections that PyTorch 1.13 wrote (fixtures/pytorch/make_projection_fixtures.py:
/// <c>nn.LSTM(..., proj_size=P)</c> then <c>nn.Linear(D·P, O)</c>, one padded batch run through pack_padded_sequence), read
/// by <see cref="SafeTensors.Import{T}(string, RecurrentCellKind?, int?, bool?, HiddenActivation?, OutputActivation?, int?)"/>
/// (checked tensor by tensor against a plain reader of the format): the forward pass gives PyTorch's outputs, top-layer states
/// and final h and c, to 1e-9 in double and 1e-5 for the float32 file.
/// </summary>
public sealed class ProjectedLstmPyTorchTests(ITestOutputHelper log)
{
    [Fact]
    public void A_two_layer_bidirectional_packed_batch_matches_PyTorch_in_double()
    {
        double worst = Check<double>("lstm_proj_2layer_bi_packed", 1e-9);
        log.WriteLine($"worst |PyTorch - RnnCore| = {worst:E2}");
    }

    [Fact]
    public void A_float32_file_matches_PyTorch_in_float()
    {
        double worst = Check<float>("lstm_proj_1layer_float32", 1e-5);
        log.WriteLine($"worst |PyTorch - RnnCore| = {worst:E2}");
    }

    private static double Check<T>(string name, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(Path.Combine(ModelSafeTensorsPyTorchTests.Folder, name + ".json")));
        JsonElement c = document.RootElement;
        Dictionary<string, (int[] Shape, double[] Values)> tensors = ReadSafeTensors(Path.Combine(ModelSafeTensorsPyTorchTests.Folder, name + ".safetensors"));
        int layers = c.GetProperty("num_layers").GetInt32();
        bool bidirectional = c.GetProperty("bidirectional").GetBoolean();
        (int[] ih, _) = tensors["rnn.weight_ih_l0"];
        (int[] hr, _) = tensors["rnn.weight_hr_l0"];

        // RnnCore's reader infers the cell, I, H, P, O, L and D from the tensors alone (P and H from weight_hr [P, H]).
        RecurrentModel<T> model = SafeTensors.Import<T>(
            Path.Combine(ModelSafeTensorsPyTorchTests.Folder, name + ".safetensors"),
            outputActivation: c.GetProperty("output_activation").GetString() == "softmax" ? OutputActivation.Softmax : OutputActivation.Identity);
        model.Options.Should().Be(new RecurrentModelOptions(ih[1], hr[1], tensors["head.weight"].Shape[0])
        {
            Cell = RecurrentCellKind.Lstm,
            Layers = layers,
            Bidirectional = bidirectional,
            ProjectionSize = c.GetProperty("proj_size").GetInt32(),
            OutputActivation = model.Options.OutputActivation,
        });
        string[] names = c.GetProperty("names").EnumerateArray().Select(e => e.GetString()!).ToArray();
        names.Should().Equal(Enumerable.Range(0, model.Parameters.Count).Select(model.Parameters.GetName), "PyTorch's state_dict names and order");

        // Every tensor as the plain reader below reads it (row-major in the file), element by element.
        foreach (string tensor in names)
        {
            (int[] shape, double[] values) = tensors[tensor];
            Matrix<T> live = model.Parameter(tensor);
            int columns = shape.Length == 2 ? shape[1] : 1;
            (live.RowCount, live.ColumnCount).Should().Be((shape[0], columns), tensor);
            for (int i = 0; i < live.RowCount; i++)
            {
                for (int j = 0; j < columns; j++)
                {
                    live[i, j].Should().Be(T.CreateTruncating(values[(i * columns) + j]), $"{tensor}[{i}, {j}]");
                }
            }
        }

        // And back: RnnCore's export of the imported model holds PyTorch's tensors, names, shapes and values unchanged.
        using (var exported = new MemoryStream())
        {
            SafeTensors.Export(model, exported);
            Dictionary<string, (int[] Shape, double[] Values)> written = ReadSafeTensors(exported.ToArray());
            written.Keys.Should().BeEquivalentTo(tensors.Keys);
            foreach ((string tensor, (int[] shape, double[] values)) in tensors)
            {
                written[tensor].Shape.Should().Equal(shape, tensor);
                written[tensor].Values.Should().Equal(values, tensor);
            }
        }

        double[][][] x = ModelSafeTensorsPyTorchTests.Array3(c.GetProperty("inputs"));
        int steps = x.Length, batch = x[0].Length;
        List<Matrix<T>> inputs = x.Select(step => Matrix<T>.Build.Dense(model.InputSize, batch, (i, b) => T.CreateTruncating(step[b][i]))).ToList();
        int[]? lengths = c.GetProperty("lengths").ValueKind == JsonValueKind.Array ? c.GetProperty("lengths").EnumerateArray().Select(e => e.GetInt32()).ToArray() : null;
        ForwardCache<T> cache = model.CreateCache(steps, batch);
        model.Forward(
            inputs, cache, ModelSafeTensorsPyTorchTests.States<T>(c.GetProperty("h0")), ModelSafeTensorsPyTorchTests.States<T>(c.GetProperty("c0")), lengths);

        double worst = ModelSafeTensorsPyTorchTests.Compare(name + " outputs", ModelSafeTensorsPyTorchTests.Array3(c.GetProperty("expected_outputs")), cache.Output, lengths, tolerance);
        worst = Math.Max(worst, ModelSafeTensorsPyTorchTests.Compare(name + " top hidden", ModelSafeTensorsPyTorchTests.Array3(c.GetProperty("expected_top_hidden")), cache.Hidden, lengths, tolerance));
        worst = Math.Max(worst, ModelSafeTensorsPyTorchTests.Compare(name + " h_n", ModelSafeTensorsPyTorchTests.Array3(c.GetProperty("expected_h_n")), cache.FinalHidden, null, tolerance));
        worst = Math.Max(worst, ModelSafeTensorsPyTorchTests.Compare(name + " c_n", ModelSafeTensorsPyTorchTests.Array3(c.GetProperty("expected_c_n")), cache.FinalCell, null, tolerance));
        return worst;
    }

    /// <summary>The safetensors layout read plainly: an 8-byte little-endian header length, the JSON header, then row-major F32/F64 data.</summary>
    internal static Dictionary<string, (int[] Shape, double[] Values)> ReadSafeTensors(string path) => ReadSafeTensors(File.ReadAllBytes(path));

    internal static Dictionary<string, (int[] Shape, double[] Values)> ReadSafeTensors(byte[] file)
    {
        int headerLength = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(file));
        using JsonDocument header = JsonDocument.Parse(file.AsMemory(8, headerLength));
        var tensors = new Dictionary<string, (int[], double[])>();
        foreach (JsonProperty entry in header.RootElement.EnumerateObject().Where(e => e.Name != "__metadata__"))
        {
            int[] shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            int[] offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            ReadOnlySpan<byte> data = file.AsSpan(8 + headerLength + offsets[0], offsets[1] - offsets[0]);
            bool f64 = entry.Value.GetProperty("dtype").GetString() == "F64";
            double[] values = new double[data.Length / (f64 ? 8 : 4)];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = f64 ? BinaryPrimitives.ReadDoubleLittleEndian(data.Slice(8 * i)) : BinaryPrimitives.ReadSingleLittleEndian(data.Slice(4 * i));
            }

            tensors[entry.Name] = (shape, values);
        }

        return tensors;
    }
}
