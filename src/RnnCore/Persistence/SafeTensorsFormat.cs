using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Text.Json;

namespace RnnCore.Persistence;

/// <summary>
/// The safetensors format itself (Hugging Face's: an 8-byte little-endian header length, a JSON header, then the raw
/// little-endian tensors, row-major, at the header's data_offsets), written and checked without knowing what the
/// tensors mean: <see cref="SafeTensors"/> maps them to and from a network.
/// </summary>
internal static class SafeTensorsFormat
{
    /// <summary>The header key of the string-to-string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>
    /// A safetensors file whose header is written (the 8-byte length, then the JSON: <c>__metadata__</c>, then each
    /// tensor's dtype, shape and data_offsets) and whose data section, from <paramref name="dataStart"/>, is left zero
    /// for the caller to fill.
    /// </summary>
    public static byte[] WriteHeader(
        IReadOnlyList<(string Key, string Value)> metadata, IReadOnlyList<(string Name, long[] Shape)> tensors, long[] begins, int size, out int dataStart)
    {
        var json = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            writer.WriteStartObject(SafeTensorsFormat.MetadataKey);
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

    public static void WriteRowMajor<T>(ReadOnlySpan<T> columnMajor, int rows, int columns, T[] scratch, Span<byte> destination)
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


    /// <summary>Reads the 8-byte header length and the JSON header it announces, checking both before trusting them.</summary>
    public static byte[] ReadHeader(Stream stream)
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
        if (headerLength < 2 || headerLength > SafeTensors.MaxHeaderLength)
        {
            throw new ModelFormatException(
                ModelFormatError.NotAModelFile,
                $"the header length is {headerLength:N0} bytes; a safetensors header is 2..{SafeTensors.MaxHeaderLength:N0} bytes, so this is not a safetensors file (or its first 8 bytes are damaged).");
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
    public readonly record struct Entry(long[] Shape, long Begin, long End);


    /// <summary>
    /// Checks the file's dtype against <typeparamref name="T"/>: the other float width names the call that reads it;
    /// half precision (F16, BF16) is the same kind of error, with the conversion to make; anything else is not a model.
    /// </summary>
    public static void RequireDType<T>(string dtype, string import)
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
    public static void RequireOwnBytes(Entry[] entries, IReadOnlyList<string> names, int size, string dtype)
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
    public static long RequireContiguous(Entry[] entries, IReadOnlyList<string> names)
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


    public static Entry ParseEntry(string name, JsonElement value, ref string? dtype)
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

    public static long[] ReadIntegers(JsonElement value, string field, string name, int maxCount)
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


    public static void ReadRowMajor<T>(T[] rowMajor, int rows, int columns, Span<T> columnMajor)
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


    /// <summary>
    /// Every tensor entry of the header by name, each checked on its own (one dtype for all, the one
    /// <typeparamref name="T"/> needs; its bytes against its shape), and the metadata; what the tensors mean is the caller's.
    /// </summary>
    public static Dictionary<string, Entry> ParseHeader<T>(byte[] header, string import, out Dictionary<string, string> metadata)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        string? dtype = null;
        string? firstName = null;
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

                if (property.Name == SafeTensorsFormat.MetadataKey)
                {
                    ReadMetadata(property.Value, metadata);
                    continue;
                }

                string? entryType = null;
                entries[property.Name] = ParseEntry(property.Name, property.Value, ref entryType);
                if (dtype is not null && dtype != entryType)
                {
                    throw Invalid($"'{property.Name}' is {entryType} but '{firstName}' is {dtype}; every tensor must have the same dtype.");
                }

                dtype ??= entryType;
                firstName ??= property.Name;
            }
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(ModelFormatError.Invalid, $"the header is not valid JSON: {e.Message}", e);
        }

        // Each tensor is checked on its own (dtype, then its bytes against its shape) before any size is inferred from it.
        if (dtype is not null)
        {
            RequireDType<T>(dtype, import);
            RequireOwnBytes(entries.Values.ToArray(), entries.Keys.ToArray(), LittleEndianTensors.SizeOf<T>(), dtype);
        }

        return entries;
    }

    /// <summary>Checks that <c>__metadata__</c> maps strings to strings and copies it.</summary>
    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("__metadata__ is not an object.");
        }

        foreach (JsonProperty entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw Invalid($"__metadata__ entry '{entry.Name}' is not a string; safetensors metadata maps strings to strings.");
            }

            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    /// <summary>A refusal of a file that is safetensors but not a model RnnCore reads.</summary>
    public static ModelFormatException Invalid(string message) =>
        new(ModelFormatError.Invalid, "the file is not a safetensors RNN model RnnCore can read: " + message);
}
