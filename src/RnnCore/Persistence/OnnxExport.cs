using System.Numerics;
using RnnCore.Models;

namespace RnnCore.Persistence;

/// <summary>
/// Writes a trained layer as an ONNX model, so that ONNX Runtime (or any ONNX backend) can serve it: the standard ONNX
/// <c>RNN</c> operator for the recurrence, then the output layer <c>z = W_y h + b_y</c> and its activation.
/// </summary>
/// <remarks>
/// <para>The graph (opset 14, IR version 8), with S the sequence length and B the batch, both left symbolic:</para>
/// <code>
/// input          [S, B, I]  float32, PyTorch's seq-first layout: input[t, b, :] is x_t of sequence b
/// RNN            W = W_x [1, H, I], R = W_h [1, H, H], B = [b_h, 0] [1, 2H], activations = [Tanh | Relu], h_0 = 0
///                → Y [S, 1, B, H], Y_h [1, B, H]
/// Squeeze(axis 1) → hidden_states [S, B, H]
/// MatMul(W_yᵀ [H, O]), Add(b_y [O]) → logits [S, B, O]
/// Softmax(axis −1) | Sigmoid | Identity → output [S, B, O]
/// </code>
/// <para>
/// Outputs: <c>output</c> (y_t for every step), <c>logits</c> (z_t), <c>hidden_states</c> (h_1..h_S) and
/// <c>final_hidden</c> (h_S, [1, B, H]). The initial hidden state is zero.
/// </para>
/// <para>
/// The graph is float32 for both element types: ONNX Runtime registers its CPU kernel for <c>RNN</c> for float32 only
/// (core/providers/cpu/rnn/rnn.cc; only its CUDA kernel takes double), so a
/// <see cref="double"/> layer's parameters are rounded to float32 on export (its outputs then agree with
/// <see cref="RecurrentModel{T}.Forward(IReadOnlyList{MathNet.Numerics.LinearAlgebra.Matrix{T}}, IReadOnlyList{MathNet.Numerics.LinearAlgebra.Matrix{T}}, IReadOnlyList{MathNet.Numerics.LinearAlgebra.Matrix{T}})"/>
/// to float32 precision).
/// </para>
/// </remarks>
public static partial class OnnxExport
{
    /// <summary>The ONNX operator-set version the graph uses.</summary>
    public const int OpsetVersion = 14;

    /// <summary>The ONNX IR version of the file.</summary>
    public const int IrVersion = 8;

    /// <summary>The name of the graph's input, [sequence, batch, inputSize].</summary>
    public const string InputName = "input";

    /// <summary>The name of the output y_t, [sequence, batch, outputSize].</summary>
    public const string OutputName = "output";

    /// <summary>The name of the logits z_t, [sequence, batch, outputSize].</summary>
    public const string LogitsName = "logits";

    /// <summary>The name of the hidden states h_1..h_T, [sequence, batch, hiddenSize].</summary>
    public const string HiddenStatesName = "hidden_states";

    /// <summary>The name of the final hidden state h_T, [1, batch, hiddenSize].</summary>
    public const string FinalHiddenName = "final_hidden";

    // ONNX's TensorProto.DataType and AttributeProto.AttributeType values.
    private const int Float32 = 1;
    private const int Int64 = 7;
    private const int AttributeInt = 2;
    private const int AttributeStrings = 8;

    /// <summary>Writes the ONNX model to <paramref name="path"/>, atomically (temporary file, flush, rename).</summary>
    /// <param name="layer">The model.</param>
    /// <param name="path">The file to create or replace, by convention <c>*.onnx</c>.</param>
    /// <typeparam name="T">The element type; the graph is float32 either way.</typeparam>
    /// <exception cref="IOException">The file system refused the write (a permission denied or a file-size limit comes as an IOException whose inner exception is .NET's original); an existing file at <paramref name="path"/> is unchanged. See docs/hosting.md.</exception>
    /// <exception cref="ArgumentException"><paramref name="layer"/> holds a NaN or infinite parameter (such a file could not be loaded again); nothing is written.</exception>
    public static void Save<T>(RecurrentLayer<T> layer, string path)
        where T : unmanaged, IFloatingPointIeee754<T> => Save(layer, path, new OnnxExportOptions());

    /// <summary>Writes the ONNX model to <paramref name="path"/>, atomically, in the layout <paramref name="options"/> ask for.</summary>
    /// <param name="layer">The model.</param>
    /// <param name="path">The file to create or replace, by convention <c>*.onnx</c>.</param>
    /// <param name="options">The layout: <see cref="OnnxExportOptions.BatchFirst"/> (a layer's graph has no other inputs).</param>
    /// <typeparam name="T">The element type; the graph is float32 either way.</typeparam>
    /// <exception cref="IOException">The file system refused the write; an existing file at <paramref name="path"/> is unchanged.</exception>
    /// <exception cref="ArgumentException"><paramref name="layer"/> holds a NaN or infinite parameter, or <paramref name="options"/> asks for sequence lengths or initial states; nothing is written.</exception>
    public static void Save<T>(RecurrentLayer<T> layer, string path, OnnxExportOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.WriteAllBytes(path, Serialize(layer, options));
    }

    /// <summary>Writes the ONNX model to a stream, at its current position.</summary>
    /// <param name="layer">The model.</param>
    /// <param name="stream">A writable stream; it is not closed.</param>
    /// <typeparam name="T">The element type; the graph is float32 either way.</typeparam>
    public static void Save<T>(RecurrentLayer<T> layer, Stream stream)
        where T : unmanaged, IFloatingPointIeee754<T> => Save(layer, stream, new OnnxExportOptions());

    /// <summary>Writes the ONNX model to a stream, at its current position, in the layout <paramref name="options"/> ask for.</summary>
    /// <param name="layer">The model.</param>
    /// <param name="stream">A writable stream; it is not closed.</param>
    /// <param name="options">The layout: <see cref="OnnxExportOptions.BatchFirst"/> (a layer's graph has no other inputs).</param>
    /// <typeparam name="T">The element type; the graph is float32 either way.</typeparam>
    /// <exception cref="ArgumentException"><paramref name="options"/> asks for sequence lengths or initial states.</exception>
    public static void Save<T>(RecurrentLayer<T> layer, Stream stream, OnnxExportOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(Serialize(layer, options));
    }

    /// <summary>The serialized ONNX ModelProto, as <see cref="Save{T}(RecurrentLayer{T}, string)"/> writes it.</summary>
    /// <param name="layer">The model.</param>
    /// <typeparam name="T">The element type; the graph is float32 either way.</typeparam>
    /// <returns>The bytes of the .onnx file.</returns>
    /// <exception cref="NotSupportedException">The parameters would exceed the 2 GB limit of a single protobuf message.</exception>
    public static byte[] Serialize<T>(RecurrentLayer<T> layer)
        where T : unmanaged, IFloatingPointIeee754<T> => Serialize(layer, new OnnxExportOptions());

    /// <summary>
    /// The serialized ONNX ModelProto in the layout <paramref name="options"/> ask for: with
    /// <see cref="OnnxExportOptions.BatchFirst"/>, <c>input</c> is [B, S, I] and <c>output</c>, <c>logits</c> and
    /// <c>hidden_states</c> are [B, S, ·] (transposed around the same graph); <c>final_hidden</c> stays [1, B, H].
    /// </summary>
    /// <param name="layer">The model.</param>
    /// <param name="options">The layout; a layer's graph has no sequence-length or initial-state input (a <see cref="RecurrentModel{T}"/>'s has).</param>
    /// <typeparam name="T">The element type; the graph is float32 either way.</typeparam>
    /// <returns>The bytes of the .onnx file.</returns>
    /// <exception cref="ArgumentException"><paramref name="layer"/> holds a NaN or infinite parameter, or <paramref name="options"/> asks for sequence lengths or initial states.</exception>
    /// <exception cref="NotSupportedException">The parameters would exceed the 2 GB limit of a single protobuf message.</exception>
    public static byte[] Serialize<T>(RecurrentLayer<T> layer, OnnxExportOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(options);
        if (options.SequenceLengths || options.InitialStates)
        {
            throw new ArgumentException(
                $"options asks for {(options.SequenceLengths ? "SequenceLengths" : "InitialStates")}, but a RecurrentLayer's graph has only the input; export a RecurrentModel for sequence_lens and initial_h inputs.",
                nameof(options));
        }

        layer.RequireFiniteParameters(nameof(layer));
        if (layer.Parameters.TotalLength * sizeof(float) > int.MaxValue / 2)
        {
            throw new NotSupportedException(
                $"the model has {layer.Parameters.TotalLength:N0} parameters; an ONNX file without external data is limited to 2 GB.");
        }

        int i = layer.InputSize, h = layer.HiddenSize, o = layer.OutputSize;

        // ONNX tensors are row-major. W_x (H x I, column-major in MathNet) becomes W [1, H, I]; W_h likewise.
        float[] w = RowMajor(layer.Parameters[0], h, i);
        float[] r = RowMajor(layer.Parameters[1], h, h);

        // B holds Wb then Rb: RnnCore's single hidden bias goes in Wb, Rb is zero.
        float[] bias = new float[2 * h];
        ToFloat(layer.Parameters[3]).CopyTo(bias, 0);

        // W_yᵀ as a row-major [H, O] is element (h, o) at h·O + o, which is exactly W_y's column-major storage.
        float[] wyTransposed = ToFloat(layer.Parameters[2]);
        float[] by = ToFloat(layer.Parameters[4]);

        string activation = layer.HiddenActivation == HiddenActivation.Tanh ? "Tanh" : "Relu";
        string outputOperator = layer.OutputActivation switch
        {
            OutputActivation.Softmax => "Softmax",
            OutputActivation.Sigmoid => "Sigmoid",
            _ => "Identity",
        };

        var model = new ProtobufWriter()
            .Int(1, IrVersion)
            .String(2, "RnnCore")
            .String(3, typeof(OnnxExport).Assembly.GetName().Version?.ToString() ?? "0")
            .String(6, $"Vanilla RNN from RnnCore: I={i}, H={h}, O={o}, {layer.HiddenActivation} hidden units, {layer.OutputActivation} output.")
            .Message(7, graph =>
            {
                bool batchFirst = options.BatchFirst;
                string x = InputName;
                if (batchFirst)
                {
                    // [B, S, I] → [S, B, I], the RNN operator's layout; the per-step outputs are transposed back below.
                    graph.Message(1, n => Node(n, "input_sequence_first", "Transpose", [InputName], ["input_sequence_first"], a => Permutation(a, [1, 0, 2])));
                    x = "input_sequence_first";
                }

                string hiddenStates = SequenceFirst(HiddenStatesName, batchFirst), logits = SequenceFirst(LogitsName, batchFirst);
                graph.Message(1, n => Node(n, "rnn", "RNN", [x, "W", "R", "B"], ["rnn_y", FinalHiddenName], a =>
                {
                    a.Message(5, at => at.String(1, "hidden_size").Int(20, AttributeInt).Int(3, h));
                    a.Message(5, at => at.String(1, "activations").Int(20, AttributeStrings).String(9, activation));
                }));
                graph.Message(1, n => Node(n, "squeeze_direction", "Squeeze", ["rnn_y", "squeeze_axes"], [hiddenStates], null));
                graph.Message(1, n => Node(n, "output_projection", "MatMul", [hiddenStates, "Wy_transposed"], ["projection"], null));
                graph.Message(1, n => Node(n, "output_bias", "Add", ["projection", "By"], [logits], null));
                graph.Message(1, n => Node(n, "output_activation", outputOperator, [logits], [SequenceFirst(OutputName, batchFirst)], a =>
                {
                    if (outputOperator == "Softmax")
                    {
                        a.Message(5, at => at.String(1, "axis").Int(20, AttributeInt).Int(3, -1));
                    }
                }));
                if (batchFirst)
                {
                    foreach (string name in new[] { OutputName, LogitsName, HiddenStatesName })
                    {
                        graph.Message(1, n => Node(n, name + "_batch_first", "Transpose", [SequenceFirst(name, true)], [name], a => Permutation(a, [1, 0, 2])));
                    }
                }

                graph.String(2, "rnncore_rnn");
                graph.Message(5, t => FloatTensor(t, "W", [1, h, i], w));
                graph.Message(5, t => FloatTensor(t, "R", [1, h, h], r));
                graph.Message(5, t => FloatTensor(t, "B", [1, 2 * h], bias));
                graph.Message(5, t => FloatTensor(t, "Wy_transposed", [h, o], wyTransposed));
                graph.Message(5, t => FloatTensor(t, "By", [o], by));
                graph.Message(5, t =>
                {
                    byte[] one = new byte[8];
                    System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(one, 1);
                    t.Int(1, 1).Int(2, Int64).String(8, "squeeze_axes").Bytes(9, one);
                });
                object[] sequenceAndBatch = batchFirst ? ["batch", "sequence"] : ["sequence", "batch"];
                graph.Message(11, v => ValueInfo(v, InputName, [.. sequenceAndBatch, i]));
                graph.Message(12, v => ValueInfo(v, OutputName, [.. sequenceAndBatch, o]));
                graph.Message(12, v => ValueInfo(v, LogitsName, [.. sequenceAndBatch, o]));
                graph.Message(12, v => ValueInfo(v, HiddenStatesName, [.. sequenceAndBatch, h]));
                graph.Message(12, v => ValueInfo(v, FinalHiddenName, [1, "batch", h]));
            })
            .Message(8, opset => opset.String(1, string.Empty).Int(2, OpsetVersion));
        return model.ToArray();
    }

    private static void Node(ProtobufWriter node, string name, string op, string[] inputs, string[] outputs, Action<ProtobufWriter>? attributes)
    {
        foreach (string input in inputs)
        {
            node.String(1, input);
        }

        foreach (string output in outputs)
        {
            node.String(2, output);
        }

        node.String(3, name).String(4, op);
        attributes?.Invoke(node);
    }

    private static void FloatTensor(ProtobufWriter tensor, string name, long[] dims, float[] values)
    {
        foreach (long dim in dims)
        {
            tensor.Int(1, dim);
        }

        byte[] raw = new byte[values.Length * sizeof(float)];
        LittleEndianTensors.Write<float>(values, raw);
        tensor.Int(2, Float32).String(8, name).Bytes(9, raw);
    }

    /// <summary>A float32 tensor ValueInfoProto; each dimension is a size (long/int) or a symbolic name (string).</summary>
    private static void ValueInfo(ProtobufWriter value, string name, object[] dims)
    {
        value.String(1, name).Message(2, type => type.Message(1, tensor =>
        {
            tensor.Int(1, Float32);
            tensor.Message(2, shape =>
            {
                foreach (object dim in dims)
                {
                    shape.Message(1, d =>
                    {
                        if (dim is string symbol)
                        {
                            d.String(2, symbol);
                        }
                        else
                        {
                            d.Int(1, Convert.ToInt64(dim, System.Globalization.CultureInfo.InvariantCulture));
                        }
                    });
                }
            });
        }));
    }

    private static float[] RowMajor<T>(ReadOnlySpan<T> columnMajor, int rows, int columns)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        float[] result = new float[rows * columns];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                result[(r * columns) + c] = float.CreateTruncating(columnMajor[r + (c * rows)]);
            }
        }

        return result;
    }

    private static float[] ToFloat<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        float[] result = new float[values.Length];
        for (int k = 0; k < values.Length; k++)
        {
            result[k] = float.CreateTruncating(values[k]);
        }

        return result;
    }
}
