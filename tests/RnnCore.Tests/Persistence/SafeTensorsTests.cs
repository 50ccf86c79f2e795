using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using System.Text.Json;
using RnnCore.Models;
using RnnCore.Persistence;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// safetensors interop: the exported file follows the format (header length, JSON header, aligned row-major
/// little-endian data, PyTorch's names and shapes), round-trips bit for bit, imports what PyTorch would write
/// (any tensor order, two biases summed), and refuses every inconsistent header with a clear message.
/// </summary>
public abstract class SafeTensorsTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int I = 3, H = 4, O = 2;

    private static readonly string DType = typeof(T) == typeof(float) ? "F32" : "F64";
    private static readonly string OtherDType = typeof(T) == typeof(float) ? "F64" : "F32";
    private static readonly int Size = typeof(T) == typeof(float) ? 4 : 8;

    [Fact]
    public void The_export_follows_the_safetensors_layout_with_PyTorch_names_shapes_and_row_major_data()
    {
        var layer = new RecurrentLayer<T>(I, H, O, HiddenActivation.Relu, OutputActivation.Sigmoid, seed: 4);
        byte[] file = SafeTensors.Serialize(layer);

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        ((8 + (long)headerLength) % 8).Should().Be(0, "the data starts 8-byte aligned");
        using JsonDocument header = JsonDocument.Parse(file.AsMemory(8, (int)headerLength));
        byte[] data = file[(8 + (int)headerLength)..];
        JsonElement metadata = header.RootElement.GetProperty("__metadata__");
        metadata.GetProperty("format").GetString().Should().Be("pt");
        metadata.GetProperty("hidden_activation").GetString().Should().Be("relu");
        metadata.GetProperty("output_activation").GetString().Should().Be("sigmoid");

        var expected = new Dictionary<string, (long[] Shape, Func<int, int, T> At)>
        {
            ["rnn.weight_ih_l0"] = ([H, I], (r, c) => layer.Wx[r, c]),
            ["rnn.weight_hh_l0"] = ([H, H], (r, c) => layer.Wh[r, c]),
            ["rnn.bias_ih_l0"] = ([H], (r, _) => layer.Bh[r]),
            ["rnn.bias_hh_l0"] = ([H], (_, _) => T.Zero),
            ["fc.weight"] = ([O, H], (r, c) => layer.Wy[r, c]),
            ["fc.bias"] = ([O], (r, _) => layer.By[r]),
        };
        header.RootElement.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(expected.Keys.Append("__metadata__"));
        long covered = 0;
        foreach ((string name, (long[] shape, Func<int, int, T> at)) in expected)
        {
            JsonElement entry = header.RootElement.GetProperty(name);
            entry.GetProperty("dtype").GetString().Should().Be(DType);
            entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).Should().Equal(shape, name);
            long[] offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            int columns = shape.Length == 2 ? (int)shape[1] : 1;
            (offsets[1] - offsets[0]).Should().Be(shape[0] * columns * Size);
            covered += offsets[1] - offsets[0];
            for (int r = 0; r < shape[0]; r++)
            {
                for (int c = 0; c < columns; c++)
                {
                    // Row-major: element (r, c) at r · columns + c.
                    int position = (int)offsets[0] + (((r * columns) + c) * Size);
                    T value = Size == 4
                        ? T.CreateTruncating(BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(position)))
                        : T.CreateTruncating(BinaryPrimitives.ReadDoubleLittleEndian(data.AsSpan(position)));
                    value.Should().Be(at(r, c), $"{name}[{r}, {c}]");
                }
            }
        }

        covered.Should().Be(data.Length, "the tensors cover the data section exactly");
    }

    [Theory]
    [MemberData(nameof(OnnxExportTests<T>.Activations), MemberType = typeof(OnnxExportTests<double>))]
    public void Export_then_import_is_bit_identical(HiddenActivation hidden, OutputActivation output)
    {
        var layer = new RecurrentLayer<T>(I, H, O, hidden, output, seed: 8);
        string path = Path.Combine(Path.GetTempPath(), $"rnncore-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensors.Export(layer, path);
            RecurrentLayer<T> imported = (RecurrentLayer<T>)SafeTensors.Import<T>(path, hiddenActivation: hidden, outputActivation: output);
            imported.HiddenActivation.Should().Be(hidden);
            imported.OutputActivation.Should().Be(output);
            RandomProblems.ShouldBeUnchanged(imported, RandomProblems.Snapshot(layer));
        }
        finally
        {
            File.Delete(path);
        }

        using var stream = new MemoryStream();
        SafeTensors.Export(layer, stream);
        stream.Position = 0;
        RandomProblems.ShouldBeUnchanged(SafeTensors.Import<T>(new NonSeekableStream(stream.ToArray()), hiddenActivation: hidden, outputActivation: output), RandomProblems.Snapshot(layer));
    }

    [Fact]
    public void A_file_as_PyTorch_writes_it_imports_with_the_two_biases_summed()
    {
        // safetensors' own writer orders tensors by name; no RnnCore metadata; a nonzero bias_hh.
        double[] weightIh = Values(H * I, 0.1), weightHh = Values(H * H, 0.2), biasIh = Values(H, 0.3), biasHh = Values(H, 0.4);
        double[] fcWeight = Values(O * H, 0.5), fcBias = Values(O, 0.6);
        byte[] file = Build(
            ("fc.bias", DType, [O], fcBias),
            ("fc.weight", DType, [O, H], fcWeight),
            ("rnn.bias_hh_l0", DType, [H], biasHh),
            ("rnn.bias_ih_l0", DType, [H], biasIh),
            ("rnn.weight_hh_l0", DType, [H, H], weightHh),
            ("rnn.weight_ih_l0", DType, [H, I], weightIh));

        RecurrentLayer<T> layer = (RecurrentLayer<T>)SafeTensors.Import<T>(new MemoryStream(file), hiddenActivation: HiddenActivation.Tanh, outputActivation: OutputActivation.Identity);

        (layer.InputSize, layer.HiddenSize, layer.OutputSize).Should().Be((I, H, O));
        layer.Wx[2, 1].Should().Be(T.CreateTruncating(weightIh[(2 * I) + 1]));
        layer.Wh[1, 3].Should().Be(T.CreateTruncating(weightHh[(1 * H) + 3]));
        layer.Wy[1, 2].Should().Be(T.CreateTruncating(fcWeight[(1 * H) + 2]));
        layer.By[1].Should().Be(T.CreateTruncating(fcBias[1]));
        for (int r = 0; r < H; r++)
        {
            layer.Bh[r].Should().Be(T.CreateTruncating(biasIh[r]) + T.CreateTruncating(biasHh[r]));
        }
    }

    [Fact]
    public void The_other_dtype_is_refused_with_the_call_that_would_read_it()
    {
        byte[] file = Standard(OtherDType);
        Expect(file, ModelFormatError.WrongElementType, $"*the tensors are {OtherDType} but {ThisType} needs {DType}; import with SafeTensors.Import<{OtherType}>, or convert in PyTorch with model.{ThisType}() before saving.");

        // Half precision is the same kind of error, with the conversion to make; other dtypes are not a model's.
        Expect(Standard("F16"), ModelFormatError.WrongElementType, $"*the tensors are F16 (float16, half precision) but {ThisType} needs {DType}; RnnCore reads F32 and F64: convert in PyTorch with model.{ThisType}() before saving.");
        Expect(Standard("BF16"), ModelFormatError.WrongElementType, $"*the tensors are BF16 (bfloat16, half precision)*model.{ThisType}()*");
        Expect(Standard("I16"), ModelFormatError.Invalid, $"*the tensors are I16 but {ThisType} needs {DType}; RnnCore reads F32 and F64 parameters*");
    }

    [Fact]
    public void A_damaged_or_transposed_tensor_is_reported_as_itself()
    {
        var tensors = StandardTensors(DType);

        // The declared shape disagrees with the tensor's own bytes (one more column than its data holds).
        var wide = tensors.Select(t => t.Name == "rnn.weight_ih_l0" ? (t.Name, t.DType, new long[] { H, I + 1 }, t.Values) : t).ToArray();
        Expect(Build(wide), ModelFormatError.Invalid, $"*'rnn.weight_ih_l0' has shape [4, 4], 16 values of {DType} ({16 * Size} bytes), but its data_offsets [0, {H * I * Size}] span {H * I * Size} bytes; this tensor is damaged*");

        // Transposed: the same bytes as [I, H]; H comes from the square W_hh, so W_ih is the one named.
        var transposed = tensors.Select(t => t.Name == "rnn.weight_ih_l0" ? (t.Name, t.DType, new long[] { I, H }, t.Values) : t).ToArray();
        Expect(Build(transposed), ModelFormatError.Invalid, "*rnn.weight_ih_l0 has shape [3, 4]; expected [G·H, I] = [4, I] with I positive (nn.RNN with H = 4, from rnn.weight_hh_l0; is it transposed?).");
    }

    private static string ThisType => typeof(T) == typeof(float) ? "float" : "double";

    private static string OtherType => typeof(T) == typeof(float) ? "double" : "float";

    [Fact]
    public void Missing_extra_or_misshapen_tensors_are_refused_by_name()
    {
        var tensors = StandardTensors(DType);
        Expect(Build(tensors.Where(t => t.Name != "rnn.bias_hh_l0").ToArray()), ModelFormatError.Invalid, "*lacks rnn.bias_hh_l0*");
        Expect(Build([.. tensors, ("rnn.weight_ih_l1", DType, [H, H], Values(H * H, 1))]), ModelFormatError.Invalid, "*lacks rnn.weight_hh_l1, rnn.bias_ih_l1, rnn.bias_hh_l1; a 2-layer nn.RNN*");

        var wrongShape = tensors.Select(t => t.Name == "rnn.weight_hh_l0" ? (t.Name, t.DType, new long[] { H, H + 1 }, Values(H * (H + 1), 1)) : t).ToArray();
        Expect(Build(wrongShape), ModelFormatError.Invalid, "*rnn.weight_hh_l0 has shape [4, 5]; expected [G·H, H] with H positive and G = 1 (nn.RNN), 3 (nn.GRU) or 4 (nn.LSTM) gate blocks.");
        var wrongFc = tensors.Select(t => t.Name == "fc.weight" ? (t.Name, t.DType, new long[] { O, H + 1 }, Values(O * (H + 1), 1)) : t).ToArray();
        Expect(Build(wrongFc), ModelFormatError.Invalid, "*fc.weight has shape [2, 5]; expected [O, D·H] = [O, 4] with O positive*");
        var mixed = tensors.Select(t => t.Name == "fc.bias" ? (t.Name, OtherDType, t.Shape, t.Values) : t).ToArray();
        Expect(Build(mixed), ModelFormatError.Invalid, "*same dtype*");
    }

    [Fact]
    public void Inconsistent_offsets_and_bad_headers_are_refused()
    {
        byte[] good = Standard(DType);
        Expect(ReplaceHeader(good, h => h.Replace("\"data_offsets\":[0,", "\"data_offsets\":[8,", StringComparison.Ordinal)), ModelFormatError.Invalid, "*'rnn.weight_ih_l0' has shape [4, 3]*but its data_offsets [8, *this tensor is damaged*");
        Expect(
            ReplaceHeader(good, h => h.Replace($"\"data_offsets\":[0,{H * I * Size}]", $"\"data_offsets\":[8,{(H * I * Size) + 8}]", StringComparison.Ordinal)),
            ModelFormatError.Invalid,
            "*'rnn.weight_ih_l0' starts at data offset 8 but the previous tensor ends at 0*contiguous*");
        Expect(ReplaceHeader(good, h => h.Replace("\"shape\":[2]", "\"shape\":[2,1,1]", StringComparison.Ordinal)), ModelFormatError.Invalid, "*'fc.bias' has 3 entries in shape*");
        Expect(ReplaceHeader(good, h => h.Replace("\"shape\":[2]", "\"shape\":[-2]", StringComparison.Ordinal)), ModelFormatError.Invalid, "*'fc.bias' shape[0] is -2*");
        Expect(ReplaceHeader(good, h => h.Replace("{\"__metadata__\"", "{\"fc.bias\":{\"dtype\":\"" + DType + "\",\"shape\":[2],\"data_offsets\":[0,0]},\"__metadata__\"", StringComparison.Ordinal)), ModelFormatError.Invalid, "*names 'fc.bias' twice*");
        Expect(ReplaceHeader(good, h => h[..^3]), ModelFormatError.Invalid, "*not valid JSON*");
        Expect(ReplaceHeader(good, h => h.Replace("\"format\":\"pt\"", "\"format\":7", StringComparison.Ordinal)), ModelFormatError.Invalid, "*metadata maps strings to strings*");
        Expect(ReplaceHeader(good, h => "[" + h[1..^1] + "]"), ModelFormatError.NotAModelFile, "*does not start with '{'*");

        byte[] hugeHeader = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(hugeHeader, ulong.MaxValue / 3);
        Expect(hugeHeader, ModelFormatError.NotAModelFile, "*header length*");
        Expect(good[..^1], ModelFormatError.Truncated, "*truncated*tensor data*");
        Expect(good[..20], ModelFormatError.Truncated, "*truncated*JSON header*");
        Expect([], ModelFormatError.NotAModelFile, "*0 bytes long*");
    }

    [Fact]
    public void Trailing_data_after_the_tensors_is_a_hole_and_is_refused()
    {
        string path = Path.Combine(Path.GetTempPath(), $"rnncore-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, [.. Standard(DType), 0, 0, 0, 0]);
            Action import = () => SafeTensors.Import<T>(path);
            import.Should().Throw<ModelFormatException>().WithMessage("*trailing data*");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_non_finite_weight_is_refused()
    {
        var tensors = StandardTensors(DType);
        tensors[0].Values[1] = double.NaN;
        Expect(Build(tensors), ModelFormatError.Invalid, "*rnn.weight_ih_l0 holds NaN at [0, 1]*");
    }

    internal static byte[] Standard(string dtype) => Build(StandardTensors(dtype));

    internal static (string Name, string DType, long[] Shape, double[] Values)[] StandardTensors(string dtype) =>
    [
        ("rnn.weight_ih_l0", dtype, [H, I], Values(H * I, 0.1)),
        ("rnn.weight_hh_l0", dtype, [H, H], Values(H * H, 0.2)),
        ("rnn.bias_ih_l0", dtype, [H], Values(H, 0.3)),
        ("rnn.bias_hh_l0", dtype, [H], Values(H, 0.4)),
        ("fc.weight", dtype, [O, H], Values(O * H, 0.5)),
        ("fc.bias", dtype, [O], Values(O, 0.6)),
    ];

    /// <summary>A safetensors file written independently of the library: tensors contiguous in the given order, F16 as zeros.</summary>
    internal static byte[] Build(params (string Name, string DType, long[] Shape, double[] Values)[] tensors)
    {
        var json = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        var data = new List<byte>();
        foreach ((string name, string dtype, long[] shape, double[] values) in tensors)
        {
            int size = dtype switch { "F64" => 8, "F32" => 4, _ => 2 };
            int begin = data.Count;
            foreach (double v in values)
            {
                byte[] bytes = new byte[size];
                if (size == 8)
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(bytes, v);
                }
                else if (size == 4)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(bytes, (float)v);
                }

                data.AddRange(bytes);
            }

            json.Append(System.Globalization.CultureInfo.InvariantCulture,
                $",\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{begin},{data.Count}]}}");
        }

        json.Append('}');
        return Assemble(json.ToString(), data.ToArray());
    }

    private static byte[] Assemble(string header, byte[] data)
    {
        byte[] headerBytes = Encoding.UTF8.GetBytes(header);
        byte[] file = new byte[8 + headerBytes.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)headerBytes.Length);
        headerBytes.CopyTo(file, 8);
        data.CopyTo(file, 8 + headerBytes.Length);
        return file;
    }

    private static byte[] ReplaceHeader(byte[] file, Func<string, string> change)
    {
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        string header = Encoding.UTF8.GetString(file, 8, length);
        return Assemble(change(header), file[(8 + length)..]);
    }

    private static double[] Values(int count, double offset) => Enumerable.Range(0, count).Select(k => offset + (k * 0.01) - 0.05).ToArray();

    private static void Expect(byte[] file, ModelFormatError error, string message)
    {
        Action import = () => SafeTensors.Import<T>(new MemoryStream(file));
        import.Should().Throw<ModelFormatException>().Where(e => e.Error == error, $"the error should be {error}").WithMessage(message);
    }
}

public sealed class SafeTensorsTestsDouble : SafeTensorsTests<double>;

public sealed class SafeTensorsTestsSingle : SafeTensorsTests<float>;
