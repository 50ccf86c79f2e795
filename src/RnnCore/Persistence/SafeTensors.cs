using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Text.Json;
using RnnCore.Internal;
using RnnCore.Models;

namespace RnnCore.Persistence;

/// <summary>
/// PyTorch interop through safetensors (Hugging Face's format: an 8-byte little-endian header length, a JSON header,
/// then the raw little-endian tensors), with PyTorch's own state-dict names for
/// <c>rnn = nn.RNN(I, H)</c> followed by <c>fc = nn.Linear(H, O)</c>:
/// <code>
/// rnn.weight_ih_l0  [H, I]  = W_x          fc.weight  [O, H]  = W_y
/// rnn.weight_hh_l0  [H, H]  = W_h          fc.bias    [O]     = b_y
/// rnn.bias_ih_l0    [H]     = b_h  (export; on import b_h = bias_ih + bias_hh)
/// rnn.bias_hh_l0    [H]     = 0    (export)
/// </code>
/// A PyTorch model with those two members loads the exported file with <c>load_state_dict</c>, and RnnCore continues
/// from a file saved by PyTorch.
/// </summary>
/// <remarks>
/// Tensors are written row-major (PyTorch's layout) and transposed from and to MathNet's column-major storage. The
/// element type is F32 for <see cref="float"/> and F64 for <see cref="double"/>; import requires the file's dtype to be
/// the one asked for (convert in PyTorch with <c>model.float()</c> or <c>model.double()</c>). The activations are not
/// part of a PyTorch state dict: <see cref="Export{T}(RecurrentLayer{T}, string)"/> records them in the header's
/// <c>__metadata__</c> (<c>hidden_activation</c>, <c>output_activation</c>) and
/// <see cref="Import{T}(string, HiddenActivation?, OutputActivation?)"/> reads them back; for a file saved by PyTorch,
/// which has no such entries, pass them (<c>nn.RNN(..., nonlinearity='relu')</c> is <see cref="HiddenActivation.Relu"/>;
/// the output activation is whatever the Python code applies to <c>fc</c>'s result). The format has no checksum: a changed byte inside the tensor data gives a
/// model with another value, which no loader can notice; everything else (header, names, shapes, dtypes, offsets,
/// length) is validated. PyTorch adds the two biases separately, RnnCore once: outputs agree to rounding, not bit for bit.
/// </remarks>
public static partial class SafeTensors
{
    /// <summary>PyTorch's name for W_x, the input-to-hidden weights of layer 0 of <c>nn.RNN</c>.</summary>
    public const string WeightIh = "rnn.weight_ih_l0";

    /// <summary>PyTorch's name for W_h, the hidden-to-hidden weights.</summary>
    public const string WeightHh = "rnn.weight_hh_l0";

    /// <summary>PyTorch's name for the input-side hidden bias (RnnCore's b_h on export).</summary>
    public const string BiasIh = "rnn.bias_ih_l0";

    /// <summary>PyTorch's name for the hidden-side hidden bias (zeros on export; added into b_h on import).</summary>
    public const string BiasHh = "rnn.bias_hh_l0";

    /// <summary>PyTorch's name for W_y, the weights of <c>fc = nn.Linear(H, O)</c>.</summary>
    public const string FcWeight = "fc.weight";

    /// <summary>PyTorch's name for b_y, the bias of <c>fc</c>.</summary>
    public const string FcBias = "fc.bias";

    /// <summary>The largest JSON header accepted, as in the safetensors reference implementation (100 MB).</summary>
    public const int MaxHeaderLength = 100_000_000;

    private const string MetadataKey = "__metadata__";
    private const string HiddenActivationKey = "hidden_activation";
    private const string OutputActivationKey = "output_activation";

    private static readonly string[] Names = [WeightIh, WeightHh, BiasIh, BiasHh, FcWeight, FcBias];

    /// <summary>Writes the layer as a safetensors file, atomically (temporary file, flush, rename).</summary>
    /// <param name="layer">The model.</param>
    /// <param name="path">The file to create or replace, by convention <c>*.safetensors</c>.</param>
    /// <typeparam name="T">The element type: written as F32 for float, F64 for double.</typeparam>
    /// <exception cref="IOException">The file system refused the write (a permission denied or a file-size limit comes as an IOException whose inner exception is .NET's original); an existing file at <paramref name="path"/> is unchanged. See docs/hosting.md.</exception>
    /// <exception cref="ArgumentException"><paramref name="layer"/> holds a NaN or infinite parameter (such a file could not be loaded again); nothing is written.</exception>
    public static void Export<T>(RecurrentLayer<T> layer, string path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.WriteAllBytes(path, Serialize(layer));
    }

    /// <summary>Writes the layer in safetensors format to a stream, at its current position.</summary>
    /// <param name="layer">The model.</param>
    /// <param name="stream">A writable stream; it is not closed.</param>
    /// <typeparam name="T">The element type: written as F32 for float, F64 for double.</typeparam>
    public static void Export<T>(RecurrentLayer<T> layer, Stream stream)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(Serialize(layer));
    }

    /// <summary>
    /// Reads a safetensors file holding exactly the six tensors of <c>nn.RNN(I, H)</c> + <c>nn.Linear(H, O)</c> (see
    /// <see cref="SafeTensors"/>) into a new layer; the sizes come from the shapes, b_h is <c>bias_ih + bias_hh</c>, and
    /// the activations from the file's <c>__metadata__</c> when it records them (as every file RnnCore exports does).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="hiddenActivation">
    /// f. Null (default): the file's <c>hidden_activation</c>, or tanh (PyTorch's default <c>nonlinearity='tanh'</c>)
    /// when the file does not record one. A value that contradicts the file's is refused.
    /// </param>
    /// <param name="outputActivation">
    /// g. Null (default): the file's <c>output_activation</c>, or softmax when the file does not record one (a file saved
    /// by PyTorch: pass what the Python code applies to <c>fc</c>'s result). A value that contradicts the file's is refused.
    /// </param>
    /// <typeparam name="T">The element type the file must hold (F32 for float, F64 for double).</typeparam>
    /// <returns>The new layer.</returns>
    /// <exception cref="ModelFormatException">The file is truncated, not safetensors, of another dtype, records an unknown activation, or does not hold exactly those six tensors with consistent shapes, in-bounds offsets and finite values. The message says which.</exception>
    /// <exception cref="ArgumentException">An activation argument contradicts the one the file records (the message names both), or softmax is asked for a model with one output.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An activation is not a defined value.</exception>
    public static RecurrentLayer<T> Import<T>(string path, HiddenActivation? hiddenActivation = null, OutputActivation? outputActivation = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        RequireActivations(hiddenActivation, outputActivation);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        RecurrentLayer<T> layer = Read<T>(stream, hiddenActivation, outputActivation, out long consumed);
        if (consumed != stream.Length)
        {
            throw Invalid($"the file is {stream.Length:N0} bytes long but its header accounts for {consumed:N0}; safetensors files may not have trailing data.");
        }

        return layer;
    }

    /// <summary>Reads a safetensors model from a stream (exactly the bytes its header declares); see <see cref="Import{T}(string, HiddenActivation?, OutputActivation?)"/>.</summary>
    /// <param name="stream">A readable stream; it is not closed.</param>
    /// <param name="hiddenActivation">f; null (default) for the one the data records, else tanh.</param>
    /// <param name="outputActivation">g; null (default) for the one the data records, else softmax.</param>
    /// <typeparam name="T">The element type the data must hold.</typeparam>
    /// <returns>The new layer.</returns>
    /// <exception cref="ModelFormatException">The data is truncated, not safetensors, of another dtype, records an unknown activation, or is not the six expected tensors.</exception>
    /// <exception cref="ArgumentException">An activation argument contradicts the one the data records, or softmax is asked for a model with one output.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An activation is not a defined value.</exception>
    public static RecurrentLayer<T> Import<T>(Stream stream, HiddenActivation? hiddenActivation = null, OutputActivation? outputActivation = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        RequireActivations(hiddenActivation, outputActivation);
        return Read<T>(stream, hiddenActivation, outputActivation, out _);
    }

    /// <summary>The whole safetensors file for a layer.</summary>
    internal static byte[] Serialize<T>(RecurrentLayer<T> layer)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        layer.RequireFiniteParameters(nameof(layer));
        int h = layer.HiddenSize, i = layer.InputSize, o = layer.OutputSize;
        int size = LittleEndianTensors.SizeOf<T>();
        long[][] shapes = [[h, i], [h, h], [h], [h], [o, h], [o]];
        long[] begins = new long[Names.Length + 1];
        for (int k = 0; k < Names.Length; k++)
        {
            begins[k + 1] = begins[k] + (shapes[k].Aggregate(1L, (a, b) => a * b) * size);
        }

        (string, string)[] metadata =
        [
            ("format", "pt"),
            ("producer", "RnnCore"),
            (HiddenActivationKey, Name(layer.HiddenActivation)),
            (OutputActivationKey, Name(layer.OutputActivation)),
        ];
        byte[] file = WriteHeader(metadata, Names.Zip(shapes).ToArray(), begins, size, out int dataStart);
        Span<byte> data = file.AsSpan(dataStart);

        T[] rowMajor = new T[Math.Max(h * Math.Max(i, h), o * h)];
        WriteRowMajor(layer.Parameters[0], h, i, rowMajor, data.Slice((int)begins[0]));
        WriteRowMajor(layer.Parameters[1], h, h, rowMajor, data.Slice((int)begins[1]));
        LittleEndianTensors.Write<T>(layer.Parameters[3], data.Slice((int)begins[2]));
        LittleEndianTensors.Write<T>(new T[h], data.Slice((int)begins[3]));
        WriteRowMajor(layer.Parameters[2], o, h, rowMajor, data.Slice((int)begins[4]));
        LittleEndianTensors.Write<T>(layer.Parameters[4], data.Slice((int)begins[5]));
        return file;
    }

    /// <summary>
    /// A safetensors file whose header is written (the 8-byte length, then the JSON: <c>__metadata__</c>, then each
    /// tensor's dtype, shape and data_offsets) and whose data section, from <paramref name="dataStart"/>, is left zero
    /// for the caller to fill.
    /// </summary>
    private static byte[] WriteHeader(
        IReadOnlyList<(string Key, string Value)> metadata, IReadOnlyList<(string Name, long[] Shape)> tensors, long[] begins, int size, out int dataStart)
    {
        var json = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            writer.WriteStartObject(MetadataKey);
            foreach ((string key, string value) in metadata)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
            for (int k = 0; k < tensors.Count; k++)
            {
                writer.WriteStartObject(tensors[k].Name);
                writer.WriteString("dtype", size == 4 ? "F32" : "F64");
                writer.WriteStartArray("shape");
                foreach (long dimension in tensors[k].Shape)
                {
                    writer.WriteNumberValue(dimension);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(begins[k]);
                writer.WriteNumberValue(begins[k + 1]);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        // Pad the header with spaces so that the data starts 8-byte aligned, as the reference writer does.
        int headerLength = (json.WrittenCount + 7) / 8 * 8;
        long total = 8 + headerLength + begins[^1];
        if (total > Array.MaxLength)
        {
            throw new NotSupportedException($"the file would be {total:N0} bytes, more than one .NET array can hold; models this large are not supported yet.");
        }

        byte[] file = new byte[total];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)headerLength);
        json.WrittenSpan.CopyTo(file.AsSpan(8));
        file.AsSpan(8 + json.WrittenCount, headerLength - json.WrittenCount).Fill((byte)' ');
        dataStart = 8 + headerLength;
        return file;
    }

    private static void WriteRowMajor<T>(ReadOnlySpan<T> columnMajor, int rows, int columns, T[] scratch, Span<byte> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                scratch[(r * columns) + c] = columnMajor[r + (c * rows)];
            }
        }

        LittleEndianTensors.Write<T>(scratch.AsSpan(0, rows * columns), destination);
    }

    private static RecurrentLayer<T> Read<T>(Stream stream, HiddenActivation? hidden, OutputActivation? output, out long consumed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Guard.RequireSupportedElementType<T>();
        if (!stream.CanRead)
        {
            throw new ArgumentException("stream is not readable.", nameof(stream));
        }

        byte[] header = ReadHeader(stream);
        Entry[] entries = ParseHeader<T>(header, out long dataLength, out RecordedActivations recorded);
        (HiddenActivation f, OutputActivation g) = ChooseActivations(recorded, hidden, output, (int)entries[4].Shape[0]);
        byte[] data = StreamReading.ReadExactly(stream, dataLength, "the tensor data");
        consumed = 8 + header.LongLength + dataLength;
        return Build<T>(entries, data, f, g);
    }

    /// <summary>Reads the 8-byte header length and the JSON header it announces, checking both before trusting them.</summary>
    private static byte[] ReadHeader(Stream stream)
    {
        Span<byte> prefix = stackalloc byte[8];
        int got = StreamReading.ReadUpTo(stream, prefix);
        if (got < 8)
        {
            throw new ModelFormatException(
                got == 0 ? ModelFormatError.NotAModelFile : ModelFormatError.Truncated,
                $"the file is {got} bytes long; a safetensors file starts with an 8-byte header length.");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength < 2 || headerLength > MaxHeaderLength)
        {
            throw new ModelFormatException(
                ModelFormatError.NotAModelFile,
                $"the header length is {headerLength:N0} bytes; a safetensors header is 2..{MaxHeaderLength:N0} bytes, so this is not a safetensors file (or its first 8 bytes are damaged).");
        }

        byte[] header = StreamReading.ReadExactly(stream, (long)headerLength, "the JSON header");
        if (header[0] != (byte)'{')
        {
            throw new ModelFormatException(ModelFormatError.NotAModelFile, "the header does not start with '{'; this is not a safetensors file.");
        }

        // JsonDocument checks the structure but leaves invalid UTF-8 inside strings to be found when they are read.
        if (!System.Text.Unicode.Utf8.IsValid(header))
        {
            throw Invalid("the header is not valid UTF-8.");
        }

        return header;
    }

    /// <summary>A tensor's header entry: shape and byte range within the data section.</summary>
    private readonly record struct Entry(long[] Shape, long Begin, long End);

    /// <summary>The activations a file's <c>__metadata__</c> records; null where it records none.</summary>
    private readonly record struct RecordedActivations(HiddenActivation? Hidden, OutputActivation? Output);

    private static Entry[] ParseHeader<T>(byte[] header, out long dataLength, out RecordedActivations recorded)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var entries = new Entry?[Names.Length];
        recorded = default;
        string? dtype = null;
        try
        {
            using JsonDocument document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid("the header is not a JSON object.");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonProperty property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw Invalid($"the header names '{property.Name}' twice.");
                }

                if (property.Name == MetadataKey)
                {
                    recorded = ReadMetadata(property.Value);
                    continue;
                }

                int index = Array.IndexOf(Names, property.Name);
                if (index < 0)
                {
                    throw Invalid(
                        $"the file holds a tensor '{property.Name}', but RnnCore reads exactly {string.Join(", ", Names)}: a single-layer, " +
                        "unidirectional nn.RNN with biases, then nn.Linear, as members named rnn and fc.");
                }

                entries[index] = ParseEntry(property.Name, property.Value, ref dtype);
            }
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(ModelFormatError.Invalid, $"the header is not valid JSON: {e.Message}", e);
        }

        string[] missing = Names.Where((_, k) => entries[k] is null).ToArray();
        if (missing.Length != 0)
        {
            throw Invalid($"the file lacks {string.Join(", ", missing)}; expected the state dict of nn.RNN(I, H) as 'rnn' and nn.Linear(H, O) as 'fc'.");
        }

        RequireDType<T>(dtype!, "Import");
        Entry[] all = entries.Select(e => e!.Value).ToArray();
        RequireOwnBytes(all, Names, LittleEndianTensors.SizeOf<T>(), dtype!);
        RequireShapes(all);

        dataLength = RequireContiguous(all, Names);
        return all;
    }

    /// <summary>
    /// Checks the file's dtype against <typeparamref name="T"/>: the other float width names the call that reads it;
    /// half precision (F16, BF16) is the same kind of error, with the conversion to make; anything else is not a model.
    /// </summary>
    private static void RequireDType<T>(string dtype, string import)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string expected = LittleEndianTensors.SizeOf<T>() == 4 ? "F32" : "F64";
        if (dtype == expected)
        {
            return;
        }

        string type = ModelFile.TypeName<T>();
        string convert = $"convert in PyTorch with model.{type}() before saving";
        throw dtype switch
        {
            "F32" or "F64" => new ModelFormatException(
                ModelFormatError.WrongElementType,
                $"the tensors are {dtype} but {type} needs {expected}; import with SafeTensors.{import}<{(dtype == "F32" ? "float" : "double")}>, or {convert}."),
            "F16" or "BF16" => new ModelFormatException(
                ModelFormatError.WrongElementType,
                $"the tensors are {dtype} ({(dtype == "F16" ? "float16" : "bfloat16")}, half precision) but {type} needs {expected}; RnnCore reads F32 and F64: {convert}."),
            _ => Invalid($"the tensors are {dtype} but {type} needs {expected}; RnnCore reads F32 and F64 parameters: {convert}."),
        };
    }

    /// <summary>
    /// Checks that each tensor's data_offsets span exactly the bytes of its own declared shape, before any size is
    /// inferred from a shape: a damaged tensor is reported as itself, not through the tensors compared with it.
    /// </summary>
    private static void RequireOwnBytes(Entry[] entries, IReadOnlyList<string> names, int size, string dtype)
    {
        for (int k = 0; k < entries.Length; k++)
        {
            Entry entry = entries[k];
            long count = entry.Shape.Aggregate(1L, (a, b) => a * b); // at most two entries of at most int.MaxValue: no overflow
            long span = entry.End - entry.Begin;
            if (span % size != 0 || span / size != count)
            {
                throw Invalid(
                    $"'{names[k]}' has shape [{string.Join(", ", entry.Shape)}], {count:N0} values of {dtype} ({(Int128)count * size:N0} bytes), but its data_offsets " +
                    $"[{entry.Begin}, {entry.End}] span {span:N0} bytes; this tensor is damaged (its shape or its offsets are wrong).");
            }
        }
    }

    /// <summary>
    /// Checks that the tensors (each already checked to span its own shape's bytes) cover the data section exactly,
    /// without holes or overlaps (the safetensors rule); returns the data section's length.
    /// </summary>
    private static long RequireContiguous(Entry[] entries, IReadOnlyList<string> names)
    {
        long end = 0;
        foreach ((Entry entry, int k) in entries.Select((e, k) => (e, k)).OrderBy(p => p.e.Begin))
        {
            if (entry.Begin != end)
            {
                throw Invalid($"'{names[k]}' starts at data offset {entry.Begin} but the previous tensor ends at {end}; tensors must be contiguous, without holes or overlaps.");
            }

            end = entry.End;
        }

        return end;
    }

    /// <summary>Checks that <c>__metadata__</c> maps strings to strings, and reads the activations Export records there.</summary>
    private static RecordedActivations ReadMetadata(JsonElement metadata)
    {
        if (metadata.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("__metadata__ is not an object.");
        }

        HiddenActivation? hidden = null;
        OutputActivation? output = null;
        foreach (JsonProperty entry in metadata.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw Invalid($"__metadata__ entry '{entry.Name}' is not a string; safetensors metadata maps strings to strings.");
            }

            string value = entry.Value.GetString()!;
            if (entry.Name == HiddenActivationKey)
            {
                hidden = value switch
                {
                    "tanh" => HiddenActivation.Tanh,
                    "relu" => HiddenActivation.Relu,
                    _ => throw Invalid($"__metadata__ records {HiddenActivationKey} '{value}'; expected 'tanh' or 'relu'."),
                };
            }
            else if (entry.Name == OutputActivationKey)
            {
                output = value switch
                {
                    "identity" => OutputActivation.Identity,
                    "sigmoid" => OutputActivation.Sigmoid,
                    "softmax" => OutputActivation.Softmax,
                    _ => throw Invalid($"__metadata__ records {OutputActivationKey} '{value}'; expected 'identity', 'sigmoid' or 'softmax'."),
                };
            }
        }

        return new RecordedActivations(hidden, output);
    }

    /// <summary>
    /// The activations to build: the file's where it records them, the caller's where it does not (tanh and softmax by
    /// default, as before the file recorded them). An argument that contradicts the file is refused: importing a
    /// regression model as softmax silently turns every output into 1.
    /// </summary>
    private static (HiddenActivation Hidden, OutputActivation Output) ChooseActivations(
        RecordedActivations recorded, HiddenActivation? hidden, OutputActivation? output, int outputSize)
    {
        if (recorded.Hidden is HiddenActivation fileHidden && hidden is HiddenActivation askedHidden && askedHidden != fileHidden)
        {
            throw new ArgumentException(
                $"hiddenActivation is {askedHidden} but the file records {HiddenActivationKey} '{Name(fileHidden)}'; omit the argument (or pass null) to use the file's.",
                "hiddenActivation");
        }

        if (recorded.Output is OutputActivation fileOutput && output is OutputActivation askedOutput && askedOutput != fileOutput)
        {
            throw new ArgumentException(
                $"outputActivation is {askedOutput} but the file records {OutputActivationKey} '{Name(fileOutput)}'; omit the argument (or pass null) to use the file's.",
                "outputActivation");
        }

        OutputActivation g = recorded.Output ?? output ?? OutputActivation.Softmax;
        if (g == OutputActivation.Softmax && outputSize < 2)
        {
            string message = $"fc.weight has O = {outputSize} output, but a softmax over one output is always 1; " +
                "a single binary output is OutputActivation.Sigmoid (PyTorch's sigmoid + BCELoss), a single value OutputActivation.Identity.";
            throw recorded.Output is null ? new ArgumentException(message, "outputActivation") : Invalid(message);
        }

        return (recorded.Hidden ?? hidden ?? HiddenActivation.Tanh, g);
    }

    private static string Name(HiddenActivation hidden) => hidden == HiddenActivation.Tanh ? "tanh" : "relu";

    private static string Name(OutputActivation output) => output.ToString().ToLowerInvariant();

    private static Entry ParseEntry(string name, JsonElement value, ref string? dtype)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Invalid($"'{name}' is not an object with dtype, shape and data_offsets.");
        }

        string entryType = value.TryGetProperty("dtype", out JsonElement d) && d.ValueKind == JsonValueKind.String
            ? d.GetString()!
            : throw Invalid($"'{name}' has no string dtype.");
        if (dtype is not null && dtype != entryType)
        {
            throw Invalid($"'{name}' is {entryType} but an earlier tensor is {dtype}; all six must have the same dtype.");
        }

        dtype = entryType;
        long[] shape = ReadIntegers(value, "shape", name, maxCount: 2);
        long[] offsets = ReadIntegers(value, "data_offsets", name, maxCount: 2);
        if (offsets.Length != 2 || offsets[0] > offsets[1])
        {
            throw Invalid($"'{name}' has data_offsets [{string.Join(", ", offsets)}]; expected [begin, end] with begin <= end.");
        }

        return new Entry(shape, offsets[0], offsets[1]);
    }

    private static long[] ReadIntegers(JsonElement value, string field, string name, int maxCount)
    {
        if (!value.TryGetProperty(field, out JsonElement array) || array.ValueKind != JsonValueKind.Array)
        {
            throw Invalid($"'{name}' has no {field} array.");
        }

        int count = array.GetArrayLength();
        if (count > maxCount)
        {
            throw Invalid($"'{name}' has {count} entries in {field}; at most {maxCount} are expected.");
        }

        long[] result = new long[count];
        int k = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            // Bounded so that products of two entries cannot overflow a long.
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long number) || number < 0 || number > int.MaxValue)
            {
                throw Invalid($"'{name}' {field}[{k}] is {item.GetRawText()}; expected an integer between 0 and {int.MaxValue}.");
            }

            result[k++] = number;
        }

        return result;
    }

    private static void RequireShapes(Entry[] entries)
    {
        long[] ih = entries[0].Shape, hh = entries[1].Shape, bih = entries[2].Shape, bhh = entries[3].Shape, w = entries[4].Shape, b = entries[5].Shape;

        // H is read from the square W_hh, the one shape a transposition cannot change; then W_ih must agree with it, so
        // a damaged or transposed W_ih is reported as itself.
        if (hh.Length != 2 || hh[0] == 0 || hh[0] != hh[1])
        {
            throw Invalid($"{WeightHh} has shape [{string.Join(", ", hh)}]; expected [H, H], a square matrix with H positive.");
        }

        long h = hh[0];
        if (ih.Length != 2 || ih[0] != h || ih[1] == 0)
        {
            throw Invalid(
                $"{WeightIh} has shape [{string.Join(", ", ih)}]; expected [H, I] = [{h}, I] with I positive (H from {WeightHh})" +
                $"{(ih.Length == 2 && ih[1] == h ? "; is it transposed?" : ".")}");
        }

        long i = ih[1];
        RequireShape(BiasIh, bih, [h], "[H]");
        RequireShape(BiasHh, bhh, [h], "[H]");
        if (w.Length != 2 || w[0] == 0 || w[1] != h)
        {
            throw Invalid($"{FcWeight} has shape [{string.Join(", ", w)}]; expected [O, H] = [O, {h}] with O positive.");
        }

        RequireShape(FcBias, b, [w[0]], "[O]");
        foreach ((long rows, long columns, string what) in new[] { (h, i, WeightIh), (h, h, WeightHh), (w[0], h, FcWeight) })
        {
            if (rows * columns > Array.MaxLength)
            {
                throw Invalid($"{what} has {rows * columns:N0} elements, more than one .NET array can hold.");
            }
        }
    }

    private static void RequireShape(string name, long[] actual, long[] expected, string meaning)
    {
        if (!actual.AsSpan().SequenceEqual(expected))
        {
            throw Invalid($"{name} has shape [{string.Join(", ", actual)}]; expected {meaning} = [{string.Join(", ", expected)}].");
        }
    }

    private static RecurrentLayer<T> Build<T>(Entry[] entries, byte[] data, HiddenActivation hidden, OutputActivation output)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int h = (int)entries[0].Shape[0], i = (int)entries[0].Shape[1], o = (int)entries[4].Shape[0];
        T[][] tensors = new T[entries.Length][];
        for (int k = 0; k < entries.Length; k++)
        {
            Entry entry = entries[k];
            tensors[k] = new T[(entry.End - entry.Begin) / LittleEndianTensors.SizeOf<T>()];
            LittleEndianTensors.Read<T>(data.AsSpan((int)entry.Begin, (int)(entry.End - entry.Begin)), tensors[k]);
            int bad = Guard.IndexOfNonFinite<T>(tensors[k]);
            if (bad >= 0)
            {
                throw Invalid($"{Names[k]} holds {tensors[k][bad]} at element {bad}; every parameter must be finite.");
            }
        }

        var layer = new RecurrentLayer<T>(i, h, o, hidden, output);
        ReadRowMajor(tensors[0], h, i, layer.Parameters[0]);
        ReadRowMajor(tensors[1], h, h, layer.Parameters[1]);
        ReadRowMajor(tensors[4], o, h, layer.Parameters[2]);
        Span<T> bh = layer.Parameters[3];
        for (int r = 0; r < h; r++)
        {
            bh[r] = tensors[2][r] + tensors[3][r];
            if (!T.IsFinite(bh[r]))
            {
                throw Invalid($"{BiasIh} + {BiasHh} at element {r} is {tensors[2][r]} + {tensors[3][r]} = {bh[r]}; b_h must be finite.");
            }
        }

        tensors[5].CopyTo(layer.Parameters[4]);
        return layer;
    }

    private static void ReadRowMajor<T>(T[] rowMajor, int rows, int columns, Span<T> columnMajor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                columnMajor[r + (c * rows)] = rowMajor[(r * columns) + c];
            }
        }
    }

    private static void RequireActivations(HiddenActivation? hidden, OutputActivation? output)
    {
        if (hidden is HiddenActivation f && !Enum.IsDefined(f))
        {
            throw new ArgumentOutOfRangeException("hiddenActivation", f, "expected Tanh or Relu, or null for the file's.");
        }

        if (output is OutputActivation g && !Enum.IsDefined(g))
        {
            throw new ArgumentOutOfRangeException("outputActivation", g, "expected Identity, Sigmoid or Softmax, or null for the file's.");
        }
    }

    private static ModelFormatException Invalid(string message) =>
        new(ModelFormatError.Invalid, "the file is not a safetensors RNN model RnnCore can read: " + message);
}
