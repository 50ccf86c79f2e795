using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.RegularExpressions;
using RnnCore.Internal;
using RnnCore.Models;

namespace RnnCore.Persistence;

// safetensors for RecurrentModel<T> (nn.RNN / nn.LSTM / nn.GRU, any number of layers, one or two directions, then a
// linear head), beside the single-layer RecurrentLayer<T> part in SafeTensors.cs, whose format checks it reuses
// (ReadHeader, ParseEntry, ReadIntegers, RequireContiguous, WriteHeader, WriteRowMajor, ReadRowMajor, Invalid). See docs/interop-models.md.
public static partial class SafeTensors
{
    /// <summary>PyTorch's module name RnnCore writes for the recurrent module: <c>rnn.weight_ih_l0</c>, ….</summary>
    public const string ModelRecurrentModule = "rnn";

    /// <summary>PyTorch's module name RnnCore writes for the head (<c>nn.Linear(D·H, O)</c>): <c>head.weight</c>, <c>head.bias</c>.</summary>
    public const string ModelHeadModule = "head";

    // __metadata__ keys of a model file (safetensors metadata maps strings to strings).
    private const string ModelCellKey = "cell";
    private const string ModelLayersKey = "num_layers";
    private const string ModelBidirectionalKey = "bidirectional";
    private const string ModelHiddenKey = "hidden_activation";
    private const string ModelOutputKey = "output_activation";
    private const string ModelDropoutKey = "dropout";

    /// <summary>
    /// Writes the model as a safetensors file with PyTorch's <c>state_dict</c> names (<c>rnn.weight_ih_l0</c>, …,
    /// <c>head.weight</c>, <c>head.bias</c>) and its cell, layers, directions, activations and dropout in
    /// <c>__metadata__</c>, atomically (temporary file, flush, rename).
    /// </summary>
    /// <param name="model">The model; every parameter must be finite.</param>
    /// <param name="path">The file to create or replace, by convention <c>*.safetensors</c>.</param>
    /// <typeparam name="T">The element type: written as F32 for float, F64 for double.</typeparam>
    /// <exception cref="ArgumentException"><paramref name="model"/> holds a NaN or infinite parameter (the message names it); nothing is written.</exception>
    /// <exception cref="IOException">The file system refused the write; an existing file at <paramref name="path"/> is unchanged.</exception>
    public static void Export<T>(RecurrentModel<T> model, string path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.WriteAllBytes(path, Serialize(model));
    }

    /// <summary>Writes the model in safetensors format to a stream, at its current position; see <see cref="Export{T}(RecurrentModel{T}, string)"/>.</summary>
    /// <param name="model">The model; every parameter must be finite.</param>
    /// <param name="stream">A writable stream; it is not closed.</param>
    /// <typeparam name="T">The element type: written as F32 for float, F64 for double.</typeparam>
    /// <exception cref="ArgumentException"><paramref name="model"/> holds a NaN or infinite parameter; nothing is written.</exception>
    public static void Export<T>(RecurrentModel<T> model, Stream stream)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(Serialize(model));
    }

    /// <summary>
    /// Reads a safetensors file written by <see cref="Export{T}(RecurrentModel{T}, string)"/> or by PyTorch
    /// (<c>save_file(model.state_dict(), path)</c> of a module holding one <c>nn.RNN</c>, <c>nn.LSTM</c> or <c>nn.GRU</c>
    /// and one <c>nn.Linear</c> head) into a new model. The cell, layers and directions come from the tensor names and
    /// shapes (and must agree with the file's <c>__metadata__</c> when it records them); the two module names are found in
    /// the file (<c>lstm.weight_ih_l0</c> + <c>fc.weight</c> works as well as <c>rnn.</c> + <c>head.</c>, and so does a
    /// nested <c>encoder.gru.weight_ih_l0</c>).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="cell">The cell you expect, or null to take the file's. A different one is refused.</param>
    /// <param name="layers">The number of layers you expect, or null. A different one is refused.</param>
    /// <param name="bidirectional">Whether you expect a bidirectional model, or null. A different answer is refused.</param>
    /// <param name="hiddenActivation">
    /// f of a vanilla cell (<c>nonlinearity</c>), or null: the file's <c>hidden_activation</c>, else tanh (PyTorch's
    /// default). A value that contradicts the file's is refused, and so is ReLU for an LSTM or GRU.
    /// </param>
    /// <param name="outputActivation">
    /// g, or null: the file's <c>output_activation</c>, else softmax (for a file saved by PyTorch, pass what the Python
    /// code applies to the head's result). A value that contradicts the file's is refused.
    /// </param>
    /// <typeparam name="T">The element type the file must hold (F32 for float, F64 for double).</typeparam>
    /// <returns>The new model (dropout as recorded, else 0; seed 0).</returns>
    /// <exception cref="ModelFormatException">The file is truncated, not safetensors, of another dtype, or not a recurrent module plus a head with consistent names, shapes, metadata, offsets and finite values; the message says which. Nothing is returned.</exception>
    /// <exception cref="ArgumentException">An argument contradicts the file (the message names the argument, what it asked and what the file holds).</exception>
    /// <exception cref="ArgumentOutOfRangeException">An enum argument is not a defined value, or <paramref name="layers"/> is below 1.</exception>
    public static RecurrentModel<T> ImportModel<T>(
        string path, RecurrentCellKind? cell = null, int? layers = null, bool? bidirectional = null,
        HiddenActivation? hiddenActivation = null, OutputActivation? outputActivation = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var expected = new ModelExpectation(cell, layers, bidirectional, hiddenActivation, outputActivation);
        expected.Validate();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        RecurrentModel<T> model = ReadModel<T>(stream, expected, out long consumed);
        if (consumed != stream.Length)
        {
            throw Invalid($"the file is {stream.Length:N0} bytes long but its header accounts for {consumed:N0}; safetensors files may not have trailing data.");
        }

        return model;
    }

    /// <summary>Reads a safetensors model from a stream (exactly the bytes its header declares); see <see cref="ImportModel{T}(string, RecurrentCellKind?, int?, bool?, HiddenActivation?, OutputActivation?)"/>.</summary>
    /// <param name="stream">A readable stream; it is not closed.</param>
    /// <param name="cell">The cell you expect, or null.</param>
    /// <param name="layers">The number of layers you expect, or null.</param>
    /// <param name="bidirectional">Whether you expect a bidirectional model, or null.</param>
    /// <param name="hiddenActivation">f of a vanilla cell, or null for the file's (else tanh).</param>
    /// <param name="outputActivation">g, or null for the file's (else softmax).</param>
    /// <typeparam name="T">The element type the data must hold.</typeparam>
    /// <returns>The new model.</returns>
    /// <exception cref="ModelFormatException">The data is truncated, not safetensors, of another dtype, or not a consistent recurrent model.</exception>
    /// <exception cref="ArgumentException">An argument contradicts the data.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An enum argument is not a defined value, or <paramref name="layers"/> is below 1.</exception>
    public static RecurrentModel<T> ImportModel<T>(
        Stream stream, RecurrentCellKind? cell = null, int? layers = null, bool? bidirectional = null,
        HiddenActivation? hiddenActivation = null, OutputActivation? outputActivation = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        var expected = new ModelExpectation(cell, layers, bidirectional, hiddenActivation, outputActivation);
        expected.Validate();
        return ReadModel<T>(stream, expected, out _);
    }

    /// <summary>The whole safetensors file for a model.</summary>
    internal static byte[] Serialize<T>(RecurrentModel<T> model)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(model);
        RecurrentModelOptions o = model.Options;
        ModelTensor[] tensors = ModelTensors(o, Gates(o.Cell), ModelRecurrentModule, ModelHeadModule);
        for (int k = 0; k < tensors.Length; k++)
        {
            // The model names its parameters as state_dict does; the layout below must list them in the same order.
            if (model.Parameters.GetName(k) != tensors[k].Name)
            {
                throw new InvalidOperationException($"parameter {k} is '{model.Parameters.GetName(k)}', expected '{tensors[k].Name}'.");
            }

            int bad = Guard.IndexOfNonFinite<T>(model.Parameters[k]);
            if (bad >= 0)
            {
                throw new ArgumentException(
                    $"model holds {model.Parameters[k][bad]} in {tensors[k].Name} at {tensors[k].Describe(bad)}; every parameter must be finite to be exported (such a file could not be imported).",
                    nameof(model));
            }
        }

        int size = LittleEndianTensors.SizeOf<T>();
        long[] begins = new long[tensors.Length + 1];
        for (int k = 0; k < tensors.Length; k++)
        {
            begins[k + 1] = begins[k] + (tensors[k].Count * size);
        }

        var metadata = new List<(string Key, string Value)>
        {
            ("format", "pt"),
            ("producer", "RnnCore"),
            (ModelCellKey, CellName(o.Cell)),
            (ModelLayersKey, o.Layers.ToString(CultureInfo.InvariantCulture)),
            (ModelBidirectionalKey, o.Bidirectional ? "true" : "false"),
        };
        if (o.Cell == RecurrentCellKind.Vanilla)
        {
            metadata.Add((ModelHiddenKey, HiddenName(o.HiddenActivation)));
        }

        metadata.Add((ModelOutputKey, OutputName(o.OutputActivation)));
        metadata.Add((ModelDropoutKey, o.Dropout.ToString("R", CultureInfo.InvariantCulture)));

        byte[] file = WriteHeader(
            metadata, tensors.Select(t => (t.Name, t.IsVector ? new[] { t.Rows } : new[] { t.Rows, t.Columns })).ToArray(), begins, size, out int dataStart);
        Span<byte> data = file.AsSpan(dataStart);
        T[] scratch = new T[tensors.Max(t => t.Count)];
        for (int k = 0; k < tensors.Length; k++)
        {
            Span<byte> destination = data.Slice((int)begins[k]);
            if (tensors[k].IsVector)
            {
                LittleEndianTensors.Write<T>(model.Parameters[k], destination);
            }
            else
            {
                WriteRowMajor<T>(model.Parameters[k], (int)tensors[k].Rows, (int)tensors[k].Columns, scratch, destination);
            }
        }

        return file;
    }

    private static RecurrentModel<T> ReadModel<T>(Stream stream, ModelExpectation expected, out long consumed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Guard.RequireSupportedElementType<T>();
        if (!stream.CanRead)
        {
            throw new ArgumentException("stream is not readable.", nameof(stream));
        }

        byte[] header = ReadHeader(stream);
        ModelLayout layout = ParseModelHeader<T>(header);
        RecurrentModelOptions options = ChooseModelOptions(layout, expected);
        byte[] data = StreamReading.ReadExactly(stream, layout.DataLength, "the tensor data");
        consumed = 8 + header.LongLength + layout.DataLength;

        // Decode and check every tensor before the model exists: a bad value leaves nothing behind.
        int size = LittleEndianTensors.SizeOf<T>();
        var decoded = new T[layout.Tensors.Length][];
        for (int k = 0; k < layout.Tensors.Length; k++)
        {
            ModelTensor tensor = layout.Tensors[k];
            Entry entry = layout.Entries[k];
            decoded[k] = new T[tensor.Count];
            LittleEndianTensors.Read<T>(data.AsSpan((int)entry.Begin, (int)(tensor.Count * size)), decoded[k]);
            int bad = Guard.IndexOfNonFinite<T>(decoded[k]);
            if (bad >= 0)
            {
                // Row-major in the file: element bad is (bad / columns, bad % columns).
                string where = tensor.IsVector ? $"[{bad}]" : $"[{bad / tensor.Columns}, {bad % tensor.Columns}]";
                throw Invalid($"{tensor.Name} holds {decoded[k][bad]} at {where}; every parameter must be finite.");
            }
        }

        var model = new RecurrentModel<T>(options);
        for (int k = 0; k < layout.Tensors.Length; k++)
        {
            ModelTensor tensor = layout.Tensors[k];
            if (tensor.IsVector)
            {
                decoded[k].CopyTo(model.Parameters[k]);
            }
            else
            {
                ReadRowMajor(decoded[k], (int)tensor.Rows, (int)tensor.Columns, model.Parameters[k]);
            }
        }

        return model;
    }

    /// <summary>
    /// Everything the header says, checked: the two module prefixes, the inferred shape of the model, each tensor's
    /// entry in state_dict order, the metadata, and the length of the data section.
    /// </summary>
    private static ModelLayout ParseModelHeader<T>(byte[] header)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
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

                if (property.Name == MetadataKey)
                {
                    ReadModelMetadata(property.Value, metadata);
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
            RequireDType<T>(dtype, "ImportModel");
            RequireOwnBytes(entries.Values.ToArray(), entries.Keys.ToArray(), LittleEndianTensors.SizeOf<T>(), dtype);
        }

        ModelLayout layout = InferModelLayout(entries);

        // InferModelLayout has checked each entry's shape against its tensor's, so the shapes give the tensors' sizes.
        long end = RequireContiguous(layout.Entries, layout.Tensors.Select(t => t.FileName).ToArray());
        CheckModelMetadata(layout, metadata);
        return layout with { DataLength = end, Metadata = metadata };
    }

    /// <summary>Checks that <c>__metadata__</c> maps strings to strings and copies it.</summary>
    private static void ReadModelMetadata(JsonElement value, Dictionary<string, string> metadata)
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

    // A recurrent tensor's last name part, as nn.RNN / nn.LSTM / nn.GRU name them: weight_ih_l0, bias_hh_l1_reverse, ….
    [GeneratedRegex("^(weight_ih|weight_hh|bias_ih|bias_hh)_l(0|[1-9][0-9]{0,3})(_reverse)?$", RegexOptions.CultureInvariant)]
    private static partial Regex RecurrentTensorName();

    /// <summary>
    /// Finds the recurrent module and the head from the names, then the cell from W_hh's G·H x H shape, the sizes and the
    /// layers and directions, and checks that the file holds exactly the tensors of that model with their shapes.
    /// </summary>
    private static ModelLayout InferModelLayout(Dictionary<string, Entry> entries)
    {
        if (entries.Count == 0)
        {
            throw Invalid("the file holds no tensors.");
        }

        var recurrentModules = new SortedSet<string>(StringComparer.Ordinal);
        var headModules = new SortedSet<string>(StringComparer.Ordinal);
        int layers = 0;
        bool reverse = false;
        foreach (string name in entries.Keys)
        {
            int dot = name.LastIndexOf('.');
            string leaf = name.Substring(dot + 1);
            Match match = RecurrentTensorName().Match(leaf);
            if (dot <= 0 || (!match.Success && leaf is not ("weight" or "bias")))
            {
                throw Invalid(
                    $"the file holds a tensor '{name}', but RnnCore reads a state_dict of one recurrent module (<module>.weight_ih_l0, " +
                    "weight_hh_l0, bias_ih_l0, bias_hh_l0, … for every layer, with _reverse for a bidirectional one) and one nn.Linear head " +
                    "(<head>.weight, <head>.bias); other tensors (projections, a bias-free RNN, more modules) are not supported.");
            }

            if (match.Success)
            {
                recurrentModules.Add(name.Substring(0, dot));
                layers = Math.Max(layers, 1 + int.Parse(match.Groups[2].ValueSpan, CultureInfo.InvariantCulture));
                reverse |= match.Groups[3].Success;
            }
            else
            {
                headModules.Add(name.Substring(0, dot));
            }
        }

        if (recurrentModules.Count != 1)
        {
            throw Invalid(recurrentModules.Count == 0
                ? "the file holds no recurrent tensors (<module>.weight_ih_l0, …); expected the state_dict of a module holding an nn.RNN, nn.LSTM or nn.GRU."
                : $"the file holds recurrent tensors of {recurrentModules.Count} modules ({string.Join(", ", recurrentModules)}); RnnCore reads one recurrent module.");
        }

        if (headModules.Count != 1)
        {
            throw Invalid(headModules.Count == 0
                ? "the file holds no head (<head>.weight, <head>.bias of an nn.Linear after the recurrent module); RnnCore models end in a linear head."
                : $"the file holds weight/bias tensors of {headModules.Count} modules ({string.Join(", ", headModules)}); RnnCore reads one nn.Linear head.");
        }

        string prefix = recurrentModules.Min!, head = headModules.Min!;
        int d = reverse ? 2 : 1;
        Entry hh = RequireEntry(entries, $"{prefix}.weight_hh_l0");
        if (hh.Shape.Length != 2 || hh.Shape[1] == 0 || hh.Shape[0] % hh.Shape[1] != 0 || hh.Shape[0] / hh.Shape[1] is not (1 or 3 or 4))
        {
            throw Invalid(
                $"{prefix}.weight_hh_l0 has shape [{string.Join(", ", hh.Shape)}]; expected [G·H, H] with H positive and G = 1 (nn.RNN), 3 (nn.GRU) or 4 (nn.LSTM) gate blocks.");
        }

        int h = (int)hh.Shape[1];
        int gates = (int)(hh.Shape[0] / h);
        RecurrentCellKind cell = gates switch { 1 => RecurrentCellKind.Vanilla, 3 => RecurrentCellKind.Gru, _ => RecurrentCellKind.Lstm };
        Entry ih = RequireEntry(entries, $"{prefix}.weight_ih_l0");
        Entry weight = RequireEntry(entries, $"{head}.weight");

        // I and O are read from these two, so each must first agree with what W_hh already fixed (G·H rows, D·H
        // columns): a transposed tensor is reported as itself, not through the tensors compared with it later.
        if (ih.Shape.Length != 2 || ih.Shape[0] != gates * h || ih.Shape[1] == 0)
        {
            throw Invalid(
                $"{prefix}.weight_ih_l0 has shape [{string.Join(", ", ih.Shape)}]; expected [G·H, I] = [{gates * h}, I] with I positive " +
                $"({CellModule(cell)} with H = {h}, from {prefix}.weight_hh_l0{(ih.Shape.Length == 2 && ih.Shape[1] == gates * h ? "; is it transposed?" : string.Empty)}).");
        }

        if (weight.Shape.Length != 2 || weight.Shape[0] == 0 || weight.Shape[1] != d * h)
        {
            throw Invalid(
                $"{head}.weight has shape [{string.Join(", ", weight.Shape)}]; expected [O, D·H] = [O, {d * h}] with O positive " +
                $"(H = {h}, {(d == 2 ? "bidirectional" : "unidirectional")}{(weight.Shape.Length == 2 && weight.Shape[0] == d * h ? "; is it transposed?" : string.Empty)}).");
        }

        var options = new RecurrentModelOptions((int)ih.Shape[1], h, (int)weight.Shape[0]) { Cell = cell, Layers = layers, Bidirectional = reverse };
        ModelTensor[] tensors = ModelTensors(options, gates, prefix, head);
        string[] missing = tensors.Where(t => !entries.ContainsKey(t.FileName)).Select(t => t.FileName).ToArray();
        if (missing.Length != 0)
        {
            throw Invalid(
                $"the file lacks {string.Join(", ", missing)}; a {layers}-layer{(reverse ? " bidirectional" : string.Empty)} {CellModule(cell)} with biases " +
                $"(as its other tensors say) and an nn.Linear head has {tensors.Length} tensors.");
        }

        if (entries.Count != tensors.Length)
        {
            // Every name matched a pattern above, so an extra one is a layer index beyond a gap; already reported as missing.
            throw Invalid($"the file holds {entries.Count} tensors but the model its names describe has {tensors.Length}.");
        }

        Entry[] ordered = new Entry[tensors.Length];
        for (int k = 0; k < tensors.Length; k++)
        {
            ModelTensor t = tensors[k];
            ordered[k] = entries[t.FileName];
            long[] shape = t.IsVector ? [t.Rows] : [t.Rows, t.Columns];
            if (!ordered[k].Shape.AsSpan().SequenceEqual(shape))
            {
                throw Invalid(
                    $"{t.FileName} has shape [{string.Join(", ", ordered[k].Shape)}]; expected [{string.Join(", ", shape)}] for {CellModule(cell)}" +
                    $"(I = {options.InputSize}, H = {h}, num_layers = {layers}, bidirectional = {(reverse ? "True" : "False")}) and a head with O = {options.OutputSize}.");
            }

            if (t.Count > Array.MaxLength)
            {
                throw Invalid($"{t.FileName} has {t.Count:N0} elements, more than one .NET array can hold.");
            }
        }

        return new ModelLayout(prefix, head, options, tensors, ordered, 0, new Dictionary<string, string>());
    }

    private static Entry RequireEntry(Dictionary<string, Entry> entries, string name)
        => entries.TryGetValue(name, out Entry entry) ? entry : throw Invalid($"the file lacks {name}; every recurrent module has it.");

    /// <summary>The metadata RnnCore records must agree with what the tensors say; a contradiction means a damaged or mislabelled file.</summary>
    private static void CheckModelMetadata(ModelLayout layout, Dictionary<string, string> metadata)
    {
        RecurrentModelOptions o = layout.Options;
        if (metadata.TryGetValue(ModelCellKey, out string? cell) && cell != CellName(o.Cell))
        {
            throw Invalid($"__metadata__ records {ModelCellKey} '{cell}' but the tensors hold {CellModule(o.Cell)} ({layout.Prefix}.weight_hh_l0 has {Gates(o.Cell)} gate block(s)); expected '{CellName(o.Cell)}'.");
        }

        if (metadata.TryGetValue(ModelLayersKey, out string? layers) && layers != o.Layers.ToString(CultureInfo.InvariantCulture))
        {
            throw Invalid($"__metadata__ records {ModelLayersKey} '{layers}' but the tensors hold {o.Layers} layer(s).");
        }

        if (metadata.TryGetValue(ModelBidirectionalKey, out string? bidirectional) && bidirectional != (o.Bidirectional ? "true" : "false"))
        {
            throw Invalid($"__metadata__ records {ModelBidirectionalKey} '{bidirectional}' but the tensors are {(o.Bidirectional ? "bidirectional ('true')" : "unidirectional ('false')")}.");
        }

        if (metadata.TryGetValue(ModelHiddenKey, out string? hidden))
        {
            if (o.Cell != RecurrentCellKind.Vanilla)
            {
                throw Invalid($"__metadata__ records {ModelHiddenKey} '{hidden}' but the tensors hold {CellModule(o.Cell)}, whose activations are fixed; only nn.RNN records one.");
            }

            _ = ParseHidden(hidden);
        }

        if (metadata.TryGetValue(ModelOutputKey, out string? output))
        {
            _ = ParseOutput(output);
        }

        if (metadata.TryGetValue(ModelDropoutKey, out string? dropout))
        {
            _ = ParseDropout(dropout);
        }
    }

    /// <summary>
    /// The options of the model to build: the file's shape, activations and dropout, with the caller's expectations
    /// checked against them. Each contradiction is an <see cref="ArgumentException"/> naming the argument.
    /// </summary>
    private static RecurrentModelOptions ChooseModelOptions(ModelLayout layout, ModelExpectation expected)
    {
        RecurrentModelOptions o = layout.Options;
        if (expected.Cell is RecurrentCellKind cell && cell != o.Cell)
        {
            throw new ArgumentException(
                $"cell is {cell} but the file holds {o.Cell} ({CellModule(o.Cell)}: {layout.Prefix}.weight_hh_l0 is [{Gates(o.Cell) * o.HiddenSize}, {o.HiddenSize}], {Gates(o.Cell)} gate block(s) of H = {o.HiddenSize}).",
                "cell");
        }

        if (expected.Layers is int layers && layers != o.Layers)
        {
            throw new ArgumentException($"layers is {layers} but the file holds {o.Layers} layer(s) ({layout.Prefix}.weight_ih_l0 … _l{o.Layers - 1}).", "layers");
        }

        if (expected.Bidirectional is bool bidirectional && bidirectional != o.Bidirectional)
        {
            throw new ArgumentException(
                $"bidirectional is {bidirectional} but the file holds a {(o.Bidirectional ? "bidirectional model (_reverse tensors)" : "unidirectional model (no _reverse tensors)")}.",
                "bidirectional");
        }

        HiddenActivation? fileHidden = layout.Metadata.TryGetValue(ModelHiddenKey, out string? h) ? ParseHidden(h) : null;
        HiddenActivation hiddenActivation = HiddenActivation.Tanh;
        if (o.Cell == RecurrentCellKind.Vanilla)
        {
            if (fileHidden is HiddenActivation recorded && expected.Hidden is HiddenActivation asked && asked != recorded)
            {
                throw new ArgumentException(
                    $"hiddenActivation is {asked} but the file records {ModelHiddenKey} '{HiddenName(recorded)}'; omit the argument (or pass null) to use the file's.",
                    "hiddenActivation");
            }

            hiddenActivation = fileHidden ?? expected.Hidden ?? HiddenActivation.Tanh;
        }
        else if (expected.Hidden == HiddenActivation.Relu)
        {
            throw new ArgumentException(
                $"hiddenActivation is Relu but the file holds {CellModule(o.Cell)}, whose activations are fixed (sigmoid gates, tanh); only nn.RNN takes a nonlinearity.",
                "hiddenActivation");
        }

        OutputActivation? fileOutput = layout.Metadata.TryGetValue(ModelOutputKey, out string? g) ? ParseOutput(g) : null;
        if (fileOutput is OutputActivation recordedOutput && expected.Output is OutputActivation askedOutput && askedOutput != recordedOutput)
        {
            throw new ArgumentException(
                $"outputActivation is {askedOutput} but the file records {ModelOutputKey} '{OutputName(recordedOutput)}'; omit the argument (or pass null) to use the file's.",
                "outputActivation");
        }

        OutputActivation outputActivation = fileOutput ?? expected.Output ?? OutputActivation.Softmax;
        if (fileOutput is null && expected.Output is null && o.OutputSize == 1)
        {
            throw new ArgumentException(
                $"outputActivation is null and the file records none, but {layout.Head}.weight has O = 1 output and a softmax over one output is always 1; " +
                "pass OutputActivation.Sigmoid (PyTorch's sigmoid + BCELoss) or OutputActivation.Identity (a value).",
                "outputActivation");
        }

        double dropout = layout.Metadata.TryGetValue(ModelDropoutKey, out string? p) ? ParseDropout(p) : 0;
        return o with { HiddenActivation = hiddenActivation, OutputActivation = outputActivation, Dropout = dropout };
    }

    /// <summary>
    /// The tensors of a model in state_dict order (the order of <see cref="RecurrentModel{T}.Parameters"/>): per layer k
    /// and direction, weight_ih [G·H, n_in], weight_hh [G·H, H], bias_ih [G·H], bias_hh [G·H]; then the head's weight
    /// [O, D·H] and bias [O]. <c>Name</c> is the model's name, <c>FileName</c> the one under the file's module names.
    /// </summary>
    private static ModelTensor[] ModelTensors(RecurrentModelOptions o, int gates, string prefix, string head)
    {
        int d = o.Bidirectional ? 2 : 1;
        long gh = (long)gates * o.HiddenSize;
        var tensors = new List<ModelTensor>();
        for (int k = 0; k < o.Layers; k++)
        {
            long inputs = k == 0 ? o.InputSize : (long)d * o.HiddenSize;
            for (int dir = 0; dir < d; dir++)
            {
                string suffix = $"_l{k}{(dir == 1 ? "_reverse" : string.Empty)}";
                tensors.Add(new ModelTensor($"{ModelRecurrentModule}.weight_ih{suffix}", $"{prefix}.weight_ih{suffix}", gh, inputs, false));
                tensors.Add(new ModelTensor($"{ModelRecurrentModule}.weight_hh{suffix}", $"{prefix}.weight_hh{suffix}", gh, o.HiddenSize, false));
                tensors.Add(new ModelTensor($"{ModelRecurrentModule}.bias_ih{suffix}", $"{prefix}.bias_ih{suffix}", gh, 1, true));
                tensors.Add(new ModelTensor($"{ModelRecurrentModule}.bias_hh{suffix}", $"{prefix}.bias_hh{suffix}", gh, 1, true));
            }
        }

        tensors.Add(new ModelTensor($"{ModelHeadModule}.weight", $"{head}.weight", o.OutputSize, (long)d * o.HiddenSize, false));
        tensors.Add(new ModelTensor($"{ModelHeadModule}.bias", $"{head}.bias", o.OutputSize, 1, true));
        return tensors.ToArray();
    }

    private static int Gates(RecurrentCellKind cell) => cell switch { RecurrentCellKind.Lstm => 4, RecurrentCellKind.Gru => 3, _ => 1 };

    private static string CellName(RecurrentCellKind cell) => cell switch { RecurrentCellKind.Lstm => "lstm", RecurrentCellKind.Gru => "gru", _ => "rnn" };

    private static string CellModule(RecurrentCellKind cell) => cell switch { RecurrentCellKind.Lstm => "nn.LSTM", RecurrentCellKind.Gru => "nn.GRU", _ => "nn.RNN" };

    private static string HiddenName(HiddenActivation hidden) => hidden == HiddenActivation.Relu ? "relu" : "tanh";

    private static string OutputName(OutputActivation output) => output.ToString().ToLowerInvariant();

    private static HiddenActivation ParseHidden(string value) => value switch
    {
        "tanh" => HiddenActivation.Tanh,
        "relu" => HiddenActivation.Relu,
        _ => throw Invalid($"__metadata__ records {ModelHiddenKey} '{value}'; expected 'tanh' or 'relu'."),
    };

    private static OutputActivation ParseOutput(string value) => value switch
    {
        "identity" => OutputActivation.Identity,
        "sigmoid" => OutputActivation.Sigmoid,
        "softmax" => OutputActivation.Softmax,
        _ => throw Invalid($"__metadata__ records {ModelOutputKey} '{value}'; expected 'identity', 'sigmoid' or 'softmax'."),
    };

    private static double ParseDropout(string value)
        => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) && p >= 0 && p < 1
            ? p
            : throw Invalid($"__metadata__ records {ModelDropoutKey} '{value}'; expected a probability in [0, 1).");

    /// <summary>One tensor of a model file: its names (in the model, in the file), its shape [Rows, Columns] or [Rows].</summary>
    private readonly record struct ModelTensor(string Name, string FileName, long Rows, long Columns, bool IsVector)
    {
        public long Count => Rows * Columns;

        /// <summary>Element <paramref name="index"/> of the column-major storage as (row, column).</summary>
        public string Describe(int index) => IsVector ? $"[{index}]" : $"[{index % Rows}, {index / Rows}]";
    }

    /// <summary>What the header says, once checked.</summary>
    private sealed record ModelLayout(
        string Prefix, string Head, RecurrentModelOptions Options, ModelTensor[] Tensors, Entry[] Entries, long DataLength,
        Dictionary<string, string> Metadata);

    /// <summary>What the caller of ImportModel expects; null where it takes the file's.</summary>
    private readonly record struct ModelExpectation(
        RecurrentCellKind? Cell, int? Layers, bool? Bidirectional, HiddenActivation? Hidden, OutputActivation? Output)
    {
        public void Validate()
        {
            if (Cell is RecurrentCellKind cell && !Enum.IsDefined(cell))
            {
                throw new ArgumentOutOfRangeException("cell", cell, "expected Vanilla, Lstm or Gru, or null for the file's.");
            }

            if (Layers is int layers && layers < 1)
            {
                throw new ArgumentOutOfRangeException("layers", layers, $"layers is {layers}; expected at least 1, or null for the file's.");
            }

            if (Hidden is HiddenActivation hidden && !Enum.IsDefined(hidden))
            {
                throw new ArgumentOutOfRangeException("hiddenActivation", hidden, "expected Tanh or Relu, or null for the file's.");
            }

            if (Output is OutputActivation output && !Enum.IsDefined(output))
            {
                throw new ArgumentOutOfRangeException("outputActivation", output, "expected Identity, Sigmoid or Softmax, or null for the file's.");
            }
        }
    }
}
