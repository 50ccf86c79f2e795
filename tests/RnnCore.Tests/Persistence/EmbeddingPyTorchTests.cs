using System.Text.Json;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Persistence;
using RnnCore.Tests.Models;
using Xunit.Abstractions;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// The safetensors files of an <c>nn.Embedding</c> in front of a GRU or an LSTM that PyTorch 1.13 wrote in float64
/// (fixtures/pytorch/make_embedding_fixtures.py: two layers bidirectional with a padding id and a packed batch of
/// variable lengths, and one layer without a padding id), read by <see cref="SafeTensors.Import{T}(string, RecurrentCellKind?, int?, bool?, HiddenActivation?, OutputActivation?, int?)"/>:
/// the options (V and E from <c>embedding.weight</c>'s shape, the padding id from the argument), every tensor element
/// by element against a plain reader of the format, the forward pass on PyTorch's ids (outputs, top-layer states,
/// final h and c) to 1e-12, and the export of the imported model holding PyTorch's names, shapes and values unchanged.
/// </summary>
public sealed class EmbeddingPyTorchTests(ITestOutputHelper log)
{
    private const double Tolerance = 1e-12;

    public static TheoryData<string> Cases => new() { "embedding_gru_2layer_bi_packed", "embedding_lstm_2layer_bi_packed", "embedding_lstm_1layer" };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Import_gives_PyTorch_s_outputs_and_export_gives_PyTorch_s_tensors(string name)
    {
        string path = Path.Combine(ModelSafeTensorsPyTorchTests.Folder, name + ".safetensors");
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(Path.Combine(ModelSafeTensorsPyTorchTests.Folder, name + ".json")));
        JsonElement c = document.RootElement;
        Dictionary<string, (int[] Shape, double[] Values)> tensors = ProjectedLstmPyTorchTests.ReadSafeTensors(path);
        int? padding = c.GetProperty("padding_idx").ValueKind == JsonValueKind.Number ? c.GetProperty("padding_idx").GetInt32() : null;
        OutputActivation output = c.GetProperty("output_activation").GetString() switch
        {
            "softmax" => OutputActivation.Softmax,
            "sigmoid" => OutputActivation.Sigmoid,
            _ => OutputActivation.Identity,
        };

        // PyTorch's file holds no padding_idx: it is the one thing passed in; V and E come from embedding.weight [V, E].
        RecurrentModel<double> model = SafeTensors.Import<double>(path, outputActivation: output, paddingId: padding);
        (int[] table, _) = tensors["embedding.weight"];
        model.Options.Should().Be(new RecurrentModelOptions(table[1], tensors["rnn.weight_hh_l0"].Shape[1], tensors["head.weight"].Shape[0])
        {
            Cell = c.GetProperty("cell").GetString() == "gru" ? RecurrentCellKind.Gru : RecurrentCellKind.Lstm,
            Layers = c.GetProperty("num_layers").GetInt32(),
            Bidirectional = c.GetProperty("bidirectional").GetBoolean(),
            OutputActivation = output,
            VocabularySize = c.GetProperty("vocab_size").GetInt32(),
            PaddingId = padding,
        });
        table[0].Should().Be(model.VocabularySize);
        string[] names = c.GetProperty("names").EnumerateArray().Select(e => e.GetString()!).ToArray();
        names.Should().Equal(Enumerable.Range(0, model.Parameters.Count).Select(model.Parameters.GetName), "PyTorch's state_dict names and order, embedding.weight first");
        foreach (string tensor in names)
        {
            (int[] shape, double[] values) = tensors[tensor];
            Matrix<double> live = model.Parameter(tensor);
            int columns = shape.Length == 2 ? shape[1] : 1;
            (live.RowCount, live.ColumnCount).Should().Be((shape[0], columns), tensor);
            for (int i = 0; i < live.RowCount; i++)
            {
                for (int j = 0; j < columns; j++)
                {
                    live[i, j].Should().Be(values[(i * columns) + j], $"{tensor}[{i}, {j}]");
                }
            }
        }

        // Export: the same names, shapes and values as PyTorch wrote (row-major [V, E] included), and the padding id in the metadata.
        using (var exported = new MemoryStream())
        {
            SafeTensors.Export(model, exported);
            Dictionary<string, (int[] Shape, double[] Values)> written = ProjectedLstmPyTorchTests.ReadSafeTensors(exported.ToArray());
            written.Keys.Should().BeEquivalentTo(tensors.Keys);
            foreach ((string tensor, (int[] shape, double[] values)) in tensors)
            {
                written[tensor].Shape.Should().Equal(shape, tensor);
                written[tensor].Values.Should().Equal(values, tensor);
            }

            RecurrentModel<double> again = SafeTensors.Import<double>(new MemoryStream(exported.ToArray()));
            again.Options.Should().Be(model.Options, "the export records the padding id and the activations in its metadata");
        }

        // Forward on PyTorch's ids (padded positions hold the padding id, not read), from PyTorch's initial states.
        int[][] ids = c.GetProperty("ids").EnumerateArray().Select(step => step.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        int steps = ids.Length, batch = ids[0].Length;
        int[]? lengths = c.GetProperty("lengths").ValueKind == JsonValueKind.Array ? c.GetProperty("lengths").EnumerateArray().Select(e => e.GetInt32()).ToArray() : null;
        ForwardCache<double> cache = model.CreateCache(steps, batch);
        model.Forward(
            ids, cache, ModelSafeTensorsPyTorchTests.States<double>(c.GetProperty("h0")), ModelSafeTensorsPyTorchTests.States<double>(c.GetProperty("c0")), lengths);
        double worst = ModelSafeTensorsPyTorchTests.Compare(name + " outputs", ModelSafeTensorsPyTorchTests.Array3(c.GetProperty("expected_outputs")), cache.Output, lengths, Tolerance);
        worst = Math.Max(worst, ModelSafeTensorsPyTorchTests.Compare(name + " top hidden", ModelSafeTensorsPyTorchTests.Array3(c.GetProperty("expected_top_hidden")), cache.Hidden, lengths, Tolerance));
        worst = Math.Max(worst, ModelSafeTensorsPyTorchTests.Compare(name + " h_n", ModelSafeTensorsPyTorchTests.Array3(c.GetProperty("expected_h_n")), cache.FinalHidden, null, Tolerance));
        if (model.Options.Cell == RecurrentCellKind.Lstm)
        {
            worst = Math.Max(worst, ModelSafeTensorsPyTorchTests.Compare(name + " c_n", ModelSafeTensorsPyTorchTests.Array3(c.GetProperty("expected_c_n")), cache.FinalCell, null, Tolerance));
        }

        log.WriteLine($"{name}: worst |PyTorch - RnnCore| = {worst:E2}");
    }

    [Fact]
    public void A_padding_id_outside_the_table_or_against_the_file_s_or_without_an_embedding_is_refused()
    {
        string path = Path.Combine(ModelSafeTensorsPyTorchTests.Folder, "embedding_gru_2layer_bi_packed.safetensors");
        ((Action)(() => SafeTensors.Import<double>(path, paddingId: 7))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*paddingId is 7*V = 7*");
        ((Action)(() => SafeTensors.Import<double>(path, paddingId: -1))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*paddingId is -1*");
        ((Action)(() => SafeTensors.Import<double>(Path.Combine(ModelSafeTensorsPyTorchTests.Folder, "gru_1layer.safetensors"), paddingId: 0)))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*paddingId is 0 but the file holds no embedding*");

        // An export records padding_idx; asking for another one is refused, naming both.
        RecurrentModel<double> model = SafeTensors.Import<double>(path, paddingId: 0);
        using var exported = new MemoryStream();
        SafeTensors.Export(model, exported);
        ((Action)(() => SafeTensors.Import<double>(new MemoryStream(exported.ToArray()), paddingId: 3)))
            .Should().Throw<ArgumentException>().WithMessage("*paddingId is 3 but the file records padding_idx '0'*");
    }

    [Fact]
    public void An_embedding_of_the_wrong_width_or_two_of_them_are_refused_naming_the_tensor()
    {
        // A GRU(3, 2) (G·H = 6) behind tables that do not fit: every value zero, so only the layout can be wrong.
        (string, long[])[] gru = [("rnn.weight_ih_l0", [6, 3]), ("rnn.weight_hh_l0", [6, 2]), ("rnn.bias_ih_l0", [6]), ("rnn.bias_hh_l0", [6]), ("head.weight", [2, 2]), ("head.bias", [2])];
        ((Action)(() => SafeTensors.Import<double>(new MemoryStream(Zeros([("embedding.weight", [5, 4]), .. gru])))))
            .Should().Throw<ModelFormatException>().WithMessage("*embedding.weight has shape [5, 4]; expected [V, E]*E = 3*");
        ((Action)(() => SafeTensors.Import<double>(new MemoryStream(Zeros([("words.weight", [5, 3]), ("letters.weight", [4, 3]), .. gru])))))
            .Should().Throw<ModelFormatException>().WithMessage("*2 modules with a weight and no bias (letters, words)*at most one nn.Embedding*");

        // Any module name works for the table, as for the others; without padding_idx metadata the padding id is none.
        RecurrentModel<double> model = SafeTensors.Import<double>(new MemoryStream(Zeros([("words.weight", [5, 3]), .. gru])));
        (model.VocabularySize, model.InputSize, model.Options.PaddingId).Should().Be((5, 3, null));
    }

    /// <summary>A float64 safetensors file of zeros with the given tensors, in order.</summary>
    private static byte[] Zeros(params (string Name, long[] Shape)[] tensors)
    {
        long[] begins = new long[tensors.Length + 1];
        for (int k = 0; k < tensors.Length; k++)
        {
            begins[k + 1] = begins[k] + (tensors[k].Shape.Aggregate(1L, (a, b) => a * b) * sizeof(double));
        }

        return SafeTensorsFormat.WriteHeader([], tensors, begins, sizeof(double), out _);
    }
}
