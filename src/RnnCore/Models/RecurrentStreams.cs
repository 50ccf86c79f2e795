using System.Numerics;
using RnnCore.Activations;
using RnnCore.Cells;
using RnnCore.Internal;
using RnnCore.Kernels;

namespace RnnCore.Models;

/// <summary>
/// A pool of N streams for online inference on a unidirectional <see cref="RecurrentModel{T}"/> (any cell, any depth, a
/// <see cref="RecurrentLayer{T}"/> too): each new input x_t of a stream costs one step, with the stream's state carried
/// from the last one, whatever the length of its history. Open one with <see cref="RecurrentModel{T}.OpenStreams"/>.
/// <code>
/// layer k:  state_k ← cell(W_ih x + b_ih, W_hh h_k + b_hh, state_k)     (x: x_t for layer 0, layer k−1's new h above)
/// head:     y_t = g(W_head h_top + b_head)
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// The states of all N streams live in one block; a stream's state is <see cref="StateSize"/> values, layer by layer: h_k
/// (H values; P for the LSTM with projections), then c_k (H values, LSTM only). Streams that arrive together step in one batched product
/// (<see cref="Step(ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/>), streams that arrive alone one at a time; either way a
/// stream's outputs and states are bit-identical to <c>Forward</c> over its whole sequence at every step, for every
/// subset, order and thread count, because each step runs the model's own cells, products and head, column by column.
/// </para>
/// <para>
/// No dropout (inference). A step validates everything before it changes anything: bad input throws an
/// <see cref="ArgumentException"/> and a NaN or infinity produced by the parameters throws
/// <see cref="NonFiniteValueException"/>; either way every stream's state is left as it was. A steady-state step allocates
/// nothing. The pool packs a copy of the weights when it is opened: after the parameters change (training, loading) call
/// <see cref="RefreshWeights"/>. A pool is not thread-safe: one call at a time (a server serializes its calls or opens a
/// pool per thread); the products of one call use up to the model's <see cref="RecurrentModel{T}.MaxDegreeOfParallelism"/>
/// threads.
/// </para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class RecurrentStreams<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly RecurrentCell<T> _cell;
    private readonly PackedMatrix<T>[] _inputWeights; // W_ih per layer, packed once
    private readonly PackedMatrix<T>[] _recurrentWeights; // W_hh per layer, packed once
    private readonly T[] _states; // N x StateSize, stream by stream
    private readonly long[] _steps; // steps taken since the stream's last reset or load
    private readonly T[] _projections; // u = W_ih x + b_ih, [G·H, B] (one layer at a time)
    private readonly T[] _recurrentProjections; // v = W_hh h + b_hh, [G·H, B]
    private readonly T[][] _hiddens; // per layer: [H, B] before the step, then [H, B] after it
    private readonly T[][] _cells; // the same for c (LSTM), else empty
    private readonly T[] _logits; // [O, B]
    private readonly double[] _logSumExps; // [B]
    private readonly T[] _inverseSums; // [B]
    private readonly T[] _outputScratch; // [O]
    private readonly int[] _marks; // per stream: the call that last named it (duplicate check without clearing)
    private int _call;

    internal RecurrentStreams(RecurrentModel<T> model, int streams, int maxBatch)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Directions != 1)
        {
            // The reverse direction reads a sequence from its end, which a stream has not seen yet.
            throw new NotSupportedException(
                $"streams need a unidirectional {model.Noun} but this one is bidirectional (Bidirectional = true): its reverse direction starts at the last step of a sequence, which a stream has not received yet. Use Forward on whole sequences, or a model with Bidirectional = false.");
        }

        Guard.Positive(streams, nameof(streams));
        Guard.Positive(maxBatch, nameof(maxBatch));
        Model = model;
        _cell = model.Cell;
        Count = streams;
        MaxBatch = Math.Min(maxBatch, streams);
        int h = model.HiddenSize;
        int hs = model.StateSize; // the size of h: H, or P with projections; c keeps H
        int gh = _cell.Gates * h;
        int layers = model.Layers;
        StateSize = checked(layers * (hs + (_cell.HasCellState ? h : 0)));
        _states = new T[Guard.ElementCount<T>(streams, StateSize, "stream states")];
        _steps = new long[streams];
        _marks = new int[streams];
        _inputWeights = new PackedMatrix<T>[layers];
        _recurrentWeights = new PackedMatrix<T>[layers];
        _hiddens = new T[layers][];
        _cells = new T[layers][];
        for (int k = 0; k < layers; k++)
        {
            _inputWeights[k] = new PackedMatrix<T>(gh, k == 0 ? model.InputSize : hs);
            _recurrentWeights[k] = new PackedMatrix<T>(gh, hs);
            _hiddens[k] = new T[Guard.ElementCount<T>(2 * hs, MaxBatch, "stream working states")];
            _cells[k] = _cell.HasCellState ? new T[Guard.ElementCount<T>(2 * h, MaxBatch, "stream working states")] : [];
        }

        _projections = new T[Guard.ElementCount<T>(gh, MaxBatch, "stream gate buffer")];
        _recurrentProjections = new T[_projections.Length];
        _logits = new T[Guard.ElementCount<T>(model.OutputSize, MaxBatch, "stream logits")];
        _logSumExps = new double[MaxBatch];
        _inverseSums = new T[MaxBatch];
        _outputScratch = new T[model.OutputSize];
        RefreshWeights();
    }

    /// <summary>The network the streams run.</summary>
    public RecurrentModel<T> Model { get; }

    /// <summary>N, the number of streams; they are numbered 0 … N − 1.</summary>
    public int Count { get; }

    /// <summary>The most streams one batched <see cref="Step(ReadOnlySpan{int}, ReadOnlySpan{T}, Span{T})"/> may step together.</summary>
    public int MaxBatch { get; }

    /// <summary>
    /// The values of one stream's state: L·H, or 2·L·H for an LSTM (L·(P + H) with projections), laid out layer by layer
    /// as h_k then c_k (LSTM). The
    /// length of the buffers of <see cref="SaveState(int, Span{T})"/> and <see cref="LoadState"/>.
    /// </summary>
    public int StateSize { get; }

    /// <summary>
    /// Packs the model's weights again: call it after the parameters changed (an optimizer step, a load, a write to
    /// <see cref="RecurrentModel{T}.Parameters"/>); the streams' states are kept. The biases, the projected LSTM's W_hr and the head are read live.
    /// </summary>
    public void RefreshWeights()
    {
        for (int k = 0; k < _inputWeights.Length; k++)
        {
            _inputWeights[k].Pack(false, Model.InputWeights(k), _inputWeights[k].Rows);
            _recurrentWeights[k].Pack(false, Model.RecurrentWeights(k), _recurrentWeights[k].Rows);
        }
    }

    /// <summary>How many steps <paramref name="stream"/> has taken since the pool was opened or its state was last reset or loaded.</summary>
    /// <param name="stream">0 ≤ stream &lt; <see cref="Count"/>.</param>
    /// <returns>The number of steps; the 0-based step a <see cref="NonFiniteValueException"/> would report for the next one.</returns>
    public long StepCount(int stream) => _steps[CheckStream(stream, nameof(stream))];

    /// <summary>
    /// One step of one stream: its input x_t in, its output y_t (the head's output, the same activation as <c>Forward</c>)
    /// out, its state carried.
    /// </summary>
    /// <param name="stream">0 ≤ stream &lt; <see cref="Count"/>.</param>
    /// <param name="input">x_t, <see cref="RecurrentModel{T}.InputSize"/> finite values.</param>
    /// <param name="output">Receives y_t, <see cref="RecurrentModel{T}.OutputSize"/> values.</param>
    /// <exception cref="ArgumentException">A length is wrong, the stream is out of range, or the input is not finite; nothing changed.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produced a NaN or infinity; the stream's state is unchanged.</exception>
    public void Step(int stream, ReadOnlySpan<T> input, Span<T> output)
    {
        CheckStream(stream, nameof(stream));
        StepCore(new ReadOnlySpan<int>(in stream), input, output, nameof(stream), nameof(input), nameof(output));
    }

    /// <summary>One step of one stream, with a new array for y_t. See <see cref="Step(int, ReadOnlySpan{T}, Span{T})"/>.</summary>
    /// <param name="stream">0 ≤ stream &lt; <see cref="Count"/>.</param>
    /// <param name="input">x_t, <see cref="RecurrentModel{T}.InputSize"/> finite values.</param>
    /// <returns>y_t, <see cref="RecurrentModel{T}.OutputSize"/> values.</returns>
    /// <exception cref="ArgumentException">A length is wrong, the stream is out of range, or the input is not finite; nothing changed.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produced a NaN or infinity; the stream's state is unchanged.</exception>
    public T[] Step(int stream, T[] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        T[] output = new T[Model.OutputSize];
        Step(stream, input, output);
        return output;
    }

    /// <summary>
    /// One step of B streams that arrived together, in one batched product per layer: column b of
    /// <paramref name="inputs"/> is the input of stream <paramref name="streams"/>[b], column b of
    /// <paramref name="outputs"/> receives its output. Each stream's result is the same, bit for bit, as if it stepped alone.
    /// </summary>
    /// <param name="streams">B distinct streams, 1 ≤ B ≤ <see cref="MaxBatch"/>, in any order.</param>
    /// <param name="inputs">I x B, column-major (x_t of streams[b] at b·I); finite.</param>
    /// <param name="outputs">Receives O x B, column-major (y_t of streams[b] at b·O).</param>
    /// <exception cref="ArgumentException">A stream is out of range or named twice, B is 0 or above <see cref="MaxBatch"/>, a length is wrong, or an input is not finite; nothing changed.</exception>
    /// <exception cref="NonFiniteValueException">The parameters produced a NaN or infinity; no stream's state changed.</exception>
    public void Step(ReadOnlySpan<int> streams, ReadOnlySpan<T> inputs, Span<T> outputs)
    {
        if (streams.Length < 1 || streams.Length > MaxBatch)
        {
            throw new ArgumentException($"streams has {streams.Length} entries; expected 1 to {MaxBatch} (MaxBatch, set when the pool was opened).", nameof(streams));
        }

        // A call number marks the streams seen in this call, so a duplicate is found without clearing anything.
        if (++_call == int.MaxValue)
        {
            Array.Clear(_marks);
            _call = 1;
        }

        for (int b = 0; b < streams.Length; b++)
        {
            int stream = streams[b];
            if ((uint)stream >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(streams), stream, $"streams[{b}] is {stream}; expected a stream in [0, {Count - 1}].");
            }

            if (_marks[stream] == _call)
            {
                throw new ArgumentException($"streams[{b}] is {stream}, which this call already names; each stream steps at most once per call.", nameof(streams));
            }

            _marks[stream] = _call;
        }

        StepCore(streams, inputs, outputs, nameof(streams), nameof(inputs), nameof(outputs));
    }

    /// <summary>Sets <paramref name="stream"/>'s state to zero (a new sequence) and its step count to 0.</summary>
    /// <param name="stream">0 ≤ stream &lt; <see cref="Count"/>.</param>
    public void Reset(int stream)
    {
        _states.AsSpan(CheckStream(stream, nameof(stream)) * StateSize, StateSize).Clear();
        _steps[stream] = 0;
    }

    /// <summary>Copies <paramref name="stream"/>'s state (layer by layer: h_k, then c_k for an LSTM) into <paramref name="destination"/>.</summary>
    /// <param name="stream">0 ≤ stream &lt; <see cref="Count"/>.</param>
    /// <param name="destination">Exactly <see cref="StateSize"/> values.</param>
    public void SaveState(int stream, Span<T> destination)
    {
        CheckStream(stream, nameof(stream));
        RequireLength(destination.Length, StateSize, nameof(destination), "the state size (StateSize)");
        _states.AsSpan(stream * StateSize, StateSize).CopyTo(destination);
    }

    /// <summary>A copy of <paramref name="stream"/>'s state in a new array. See <see cref="SaveState(int, Span{T})"/>.</summary>
    /// <param name="stream">0 ≤ stream &lt; <see cref="Count"/>.</param>
    /// <returns><see cref="StateSize"/> values.</returns>
    public T[] SaveState(int stream)
    {
        T[] state = new T[StateSize];
        SaveState(stream, state);
        return state;
    }

    /// <summary>
    /// Sets <paramref name="stream"/>'s state from <paramref name="source"/> (as <see cref="SaveState(int, Span{T})"/> wrote
    /// it, from this pool or another of the same model) and its step count to 0; the next steps continue from it exactly.
    /// </summary>
    /// <param name="stream">0 ≤ stream &lt; <see cref="Count"/>.</param>
    /// <param name="source">Exactly <see cref="StateSize"/> finite values.</param>
    /// <exception cref="ArgumentException">The length is wrong or a value is not finite; the state is unchanged.</exception>
    public void LoadState(int stream, ReadOnlySpan<T> source)
    {
        CheckStream(stream, nameof(stream));
        RequireLength(source.Length, StateSize, nameof(source), "the state size (StateSize)");
        int bad = Guard.IndexOfNonFinite(source);
        if (bad >= 0)
        {
            throw new ArgumentException($"source[{bad}] is {source[bad]}; every value of a state must be finite.", nameof(source));
        }

        source.CopyTo(_states.AsSpan(stream * StateSize, StateSize));
        _steps[stream] = 0;
    }

    private static void RequireLength(int actual, int expected, string name, string meaning)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{name} has length {actual}; expected {expected} ({meaning}).", name);
        }
    }

    private int CheckStream(int stream, string name) =>
        (uint)stream < (uint)Count
            ? stream
            : throw new ArgumentOutOfRangeException(name, stream, $"{name} is {stream}; expected a stream in [0, {Count - 1}].");

    /// <summary>
    /// The step of B checked, distinct streams: states gathered into [H, B] blocks, each layer's two products with the cell
    /// fused into the second (the model's own <see cref="CellStepEpilogue{T}"/>), the head, and only then, when every value
    /// is finite, the new states written back.
    /// </summary>
    private void StepCore(ReadOnlySpan<int> streams, ReadOnlySpan<T> inputs, Span<T> outputs, string streamsName, string inputsName, string outputsName)
    {
        RecurrentModel<T> model = Model;
        int batch = streams.Length;
        int n = model.InputSize;
        int h = model.HiddenSize;
        int hs = model.StateSize;
        int o = model.OutputSize;
        int gh = _cell.Gates * h;
        int block = hs * batch;
        if (inputs.Length != n * batch)
        {
            RequireLength(inputs.Length, n * batch, inputsName, batch == 1 ? "the input size" : $"input size {n} x {batch} streams");
        }

        if (outputs.Length != o * batch)
        {
            RequireLength(outputs.Length, o * batch, outputsName, batch == 1 ? "the output size" : $"output size {o} x {batch} streams");
        }
        int bad = Guard.IndexOfNonFinite(inputs);
        if (bad >= 0)
        {
            throw new ArgumentException(
                batch == 1
                    ? $"{inputsName}[{bad}] is {inputs[bad]}; every input value must be finite."
                    : $"{inputsName} holds {inputs[bad]} at row {bad % n}, column {bad / n} ({streamsName}[{bad / n}]); every input value must be finite.",
                inputsName);
        }

        Gather(streams);
        using RnnCoreSettings.ParallelismScope parallelism = RnnCoreSettings.UseModelDegree(model.MaxDegreeOfParallelism);
        T one = T.One;
        ReadOnlySpan<T> x = inputs;
        int inputRows = n;
        for (int k = 0; k < _hiddens.Length; k++)
        {
            // u = W_ih x + b_ih for the B columns, then v = W_hh h + b_hh with the cell step in its epilogue, as Forward does.
            Span<T> u = _projections.AsSpan(0, gh * batch);
            ColumnBlocks.BroadcastColumns<T>(model.InputBias(k), u);
            Gemm.Multiply(_inputWeights[k], false, batch, one, x, inputRows, one, u, gh);

            Span<T> v = _recurrentProjections.AsSpan(0, gh * batch);
            ColumnBlocks.BroadcastColumns<T>(model.RecurrentBias(k), v);
            var step = new CellStepEpilogue<T>(_cell, _projections, 0, _hiddens[k], _cells[k], 0, batch, h, hs, model.OwnWeights(k));
            long badProduct = Gemm.Multiply(_recurrentWeights[k], false, batch, one, _hiddens[k].AsSpan(0, block), hs, one, v, gh, ref step);
            if (badProduct >= 0)
            {
                throw NonFinite($"{_cell.RecurrentProductQuantity}{model.Where(k, 0)}", streams, (int)(badProduct / gh), $"row {badProduct % gh}");
            }

            ReadOnlySpan<T> hNext = _hiddens[k].AsSpan(block, block);
            int badState = Guard.IndexOfNonFinite(hNext);
            int stateRows = hs;
            if (badState < 0 && _cell.HasCellState)
            {
                badState = Guard.IndexOfNonFinite<T>(_cells[k].AsSpan(h * batch, h * batch));
                stateRows = h;
            }

            if (badState >= 0)
            {
                throw NonFinite($"{_cell.StateQuantity}{model.Where(k, 0)}", streams, badState / stateRows, $"row {badState % stateRows}");
            }

            x = hNext;
            inputRows = hs;
        }

        Span<T> logits = _logits.AsSpan(0, o * batch);
        try
        {
            model.Head.Forward(x, logits, _logSumExps.AsSpan(0, batch), _inverseSums.AsSpan(0, batch), _outputScratch, batch);
        }
        catch (NonFiniteValueException e)
        {
            // The head reports a column of its batch; a stream reports itself and its own step.
            int column = Guard.IndexOfNonFinite<T>(logits);
            throw NonFinite(e.Quantity, streams, Math.Max(column, 0) / o, $"row {Math.Max(column, 0) % o}");
        }

        OutputValues.FromLogits<T>(model.Options.OutputActivation, logits, _inverseSums.AsSpan(0, batch), o, outputs);
        Scatter(streams);
    }

    /// <summary>Each named stream's state into column b of every layer's "before" block.</summary>
    private void Gather(ReadOnlySpan<int> streams)
    {
        int h = Model.HiddenSize, hs = Model.StateSize;
        int perLayer = _cell.HasCellState ? hs + h : hs;
        for (int b = 0; b < streams.Length; b++)
        {
            ReadOnlySpan<T> state = _states.AsSpan(streams[b] * StateSize, StateSize);
            for (int k = 0; k < _hiddens.Length; k++)
            {
                state.Slice(k * perLayer, hs).CopyTo(_hiddens[k].AsSpan(b * hs, hs));
                if (_cell.HasCellState)
                {
                    state.Slice((k * perLayer) + hs, h).CopyTo(_cells[k].AsSpan(b * h, h));
                }
            }
        }
    }

    /// <summary>Every layer's "after" block back into the named streams' states: the step is committed.</summary>
    private void Scatter(ReadOnlySpan<int> streams)
    {
        int h = Model.HiddenSize, hs = Model.StateSize;
        int perLayer = _cell.HasCellState ? hs + h : hs;
        for (int b = 0; b < streams.Length; b++)
        {
            Span<T> state = _states.AsSpan(streams[b] * StateSize, StateSize);
            for (int k = 0; k < _hiddens.Length; k++)
            {
                _hiddens[k].AsSpan((hs * streams.Length) + (b * hs), hs).CopyTo(state.Slice(k * perLayer, hs));
                if (_cell.HasCellState)
                {
                    _cells[k].AsSpan((h * streams.Length) + (b * h), h).CopyTo(state.Slice((k * perLayer) + hs, h));
                }
            }

            _steps[streams[b]]++;
        }
    }

    private NonFiniteValueException NonFinite(string quantity, ReadOnlySpan<int> streams, int column, string detail)
    {
        int stream = streams[column];
        return new NonFiniteValueException(quantity, (int)Math.Min(_steps[stream], int.MaxValue), $"{detail}, stream {stream}; its state is unchanged");
    }
}
