using System.Numerics;
using RnnCore.Internal;
using RnnCore.Models;

namespace RnnCore.Initialization;

/// <summary>
/// One <see cref="Initializer"/> per kind of tensor of a <see cref="RecurrentModel{T}"/> (W_ih, W_hh, b_ih, b_hh of every
/// layer and direction, and the head), plus the LSTM's forget-gate bias, applied from a seed by <see cref="Apply{T}"/>.
/// Presets: <see cref="PyTorchDefault"/> (the constructor's weights) and <see cref="Keras"/> (what Keras' LSTM, GRU and
/// SimpleRNN layers start from); <see cref="ChronoMaxSteps"/> sets the LSTM's gate biases for long spans.
/// </summary>
/// <remarks>
/// <para>
/// All values come from one xoshiro256** stream seeded by the seed, drawn in <c>state_dict</c> order (each tensor in
/// column-major order; zeros and identity draw nothing), so the same seed gives bit-identical weights on every machine,
/// and <see cref="PyTorchDefault"/> reproduces the <see cref="RecurrentModel{T}"/> constructor's weights bit for bit.
/// </para>
/// <para>
/// W_hh is G gate blocks of H x H stacked in PyTorch's order (LSTM i, f, g, o; GRU r, z, n). A matrix initializer
/// (orthogonal, Xavier, identity) given for <see cref="RecurrentWeights"/> fills each block as its own H x H matrix, so
/// with <see cref="Initializer.Orthogonal"/> every gate's recurrent map is orthogonal. (Keras' <c>Orthogonal</c> is applied
/// to its whole H x G·H <c>recurrent_kernel</c>, which makes the G·H x H stack semi-orthogonal, W_hhᵀ W_hh = I, and no
/// single block orthogonal; per block is the usual choice in PyTorch code, <c>orthogonal_</c> on each
/// <c>weight_hh[g·H:(g+1)·H]</c>.) The other tensors are filled whole: W_ih as one G·H x n_in matrix (fan_out = G·H, as
/// Keras' <c>kernel</c>), the head as O x D·H.
/// </para>
/// </remarks>
public sealed class ModelInitialization
{
    private readonly double? _forgetGateBias;
    private readonly int? _chronoMaxSteps;

    /// <summary>W_ih of every layer and direction, [G·H, n_in], filled as one matrix. Default: <see cref="Initializer.PyTorchDefault"/>.</summary>
    public Initializer InputWeights { get; init; } = Initializer.PyTorchDefault;

    /// <summary>W_hh of every layer and direction, [G·H, H]; a matrix initializer fills each gate block (H x H) on its own. Default: <see cref="Initializer.PyTorchDefault"/>.</summary>
    public Initializer RecurrentWeights { get; init; } = Initializer.PyTorchDefault;

    /// <summary>b_ih of every layer and direction, [G·H]. Default: <see cref="Initializer.PyTorchDefault"/>.</summary>
    public Initializer InputBiases { get; init; } = Initializer.PyTorchDefault;

    /// <summary>b_hh of every layer and direction, [G·H]. Default: <see cref="Initializer.PyTorchDefault"/>.</summary>
    public Initializer RecurrentBiases { get; init; } = Initializer.PyTorchDefault;

    /// <summary>The head's weight, [O, D·H]. Default: <see cref="Initializer.PyTorchDefault"/> (nn.Linear's U(−1/√(D·H), 1/√(D·H))).</summary>
    public Initializer HeadWeight { get; init; } = Initializer.PyTorchDefault;

    /// <summary>The head's bias, [O]. Default: <see cref="Initializer.PyTorchDefault"/>.</summary>
    public Initializer HeadBias { get; init; } = Initializer.PyTorchDefault;

    /// <summary>
    /// The LSTM's forget-gate bias b_f, or null (the default) to leave the biases as drawn. When set, after the biases are
    /// drawn the forget block (rows H..2H) of every b_ih is set to this value and that of every b_hh to 0, so the gate sees
    /// b_ih + b_hh = b_f exactly, in RnnCore and in a file exported to PyTorch, whose LSTM adds the two biases just as
    /// RnnCore does. 1 is Keras' <c>unit_forget_bias=True</c> (its default), after Gers, Schmidhuber and Cummins (2000) and
    /// Jozefowicz, Zaremba and Sutskever (2015): σ(1) ≈ 0.73, so at the start the cell state keeps most of itself from step
    /// to step and the gradient through c_t decays slowly. Ignored by the vanilla and GRU cells, which have no forget gate.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is NaN or infinite.</exception>
    public double? ForgetGateBias
    {
        get => _forgetGateBias;
        init
        {
            if (value is double v && !double.IsFinite(v))
            {
                throw new ArgumentOutOfRangeException(nameof(ForgetGateBias), v, $"ForgetGateBias must be finite (or null), but was {v}.");
            }

            _forgetGateBias = value;
        }
    }

    /// <summary>
    /// Chrono initialization of the LSTM's gate biases (Tallec and Ollivier 2018, "Can recurrent neural networks warp
    /// time?"), or null (the default): T_max, the longest span, in steps, the network should be able to remember at the
    /// start. When set, after the biases are drawn each unit j of every layer and direction draws u_j ~ U(1, T_max − 1)
    /// from the same generator and gets the forget-gate bias b_f = ln u_j and the input-gate bias b_i = −b_f, in b_ih
    /// (b_hh's i and f blocks are set to 0, so b_ih + b_hh is the same in an exported file). A unit with b_f = ln u
    /// forgets at the rate 1 − σ(ln u) = 1/(1 + u), so the units' memories span 2 to T_max steps, and σ(−b_f) keeps the
    /// long-memory units' input gates mostly closed so that their cells are not overwritten at every step. Ignored by the
    /// vanilla and GRU cells; not together with <see cref="ForgetGateBias"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 3 (U(1, T_max − 1) needs T_max − 1 &gt; 1).</exception>
    public int? ChronoMaxSteps
    {
        get => _chronoMaxSteps;
        init
        {
            if (value is int steps && steps < 3)
            {
                throw new ArgumentOutOfRangeException(nameof(ChronoMaxSteps), steps, $"ChronoMaxSteps must be at least 3 (or null), but was {steps}.");
            }

            _chronoMaxSteps = value;
        }
    }

    /// <summary>PyTorch's default for <c>nn.RNN</c>, <c>nn.LSTM</c>, <c>nn.GRU</c> and the <c>nn.Linear</c> head: the constructor's weights, bit for bit.</summary>
    public static ModelInitialization PyTorchDefault { get; } = new();

    /// <summary>
    /// Keras' defaults for its recurrent layers (<c>LSTM</c>, <c>GRU</c>, <c>SimpleRNN</c>) and a <c>Dense</c> head:
    /// Glorot-uniform W_ih (<c>kernel_initializer='glorot_uniform'</c>, Glorot and Bengio 2010), orthogonal W_hh
    /// (<c>recurrent_initializer='orthogonal'</c>, Saxe, McClelland and Ganguli 2014; here per gate block, see the remarks),
    /// zero biases (<c>bias_initializer='zeros'</c>), the LSTM's forget-gate bias 1 (<c>unit_forget_bias=True</c>), and a
    /// Glorot-uniform head weight with a zero bias.
    /// </summary>
    public static ModelInitialization Keras { get; } = new()
    {
        InputWeights = Initializer.XavierUniform(),
        RecurrentWeights = Initializer.Orthogonal(),
        InputBiases = Initializer.Zeros,
        RecurrentBiases = Initializer.Zeros,
        HeadWeight = Initializer.XavierUniform(),
        HeadBias = Initializer.Zeros,
        ForgetGateBias = 1,
    };

    /// <summary>
    /// <see cref="Keras"/>'s weights with chrono gate biases for spans up to <paramref name="maxSteps"/> steps
    /// (<see cref="ChronoMaxSteps"/>, Tallec and Ollivier 2018) instead of the forget-gate bias 1.
    /// </summary>
    /// <param name="maxSteps">T_max, at least 3: the longest span the LSTM should remember at the start (e.g. the sequence length).</param>
    /// <returns>The scheme.</returns>
    public static ModelInitialization Chrono(int maxSteps) => new()
    {
        InputWeights = Keras.InputWeights,
        RecurrentWeights = Keras.RecurrentWeights,
        InputBiases = Initializer.Zeros,
        RecurrentBiases = Initializer.Zeros,
        HeadWeight = Keras.HeadWeight,
        HeadBias = Initializer.Zeros,
        ChronoMaxSteps = maxSteps,
    };

    /// <summary>Overwrites every parameter of <paramref name="model"/> from <paramref name="seed"/> (the dropout generator is left as it is).</summary>
    /// <typeparam name="T">The model's element type.</typeparam>
    /// <param name="model">The model, changed in place.</param>
    /// <param name="seed">The seed of the one generator all values are drawn from.</param>
    /// <exception cref="ArgumentNullException">An initializer is null; nothing is changed.</exception>
    /// <exception cref="ArgumentException">A matrix-only initializer (Xavier, orthogonal, identity) was given for a bias; nothing is changed.</exception>
    public void Apply<T>(RecurrentModel<T> model, long seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(InputWeights, nameof(InputWeights));
        ArgumentNullException.ThrowIfNull(RecurrentWeights, nameof(RecurrentWeights));
        ArgumentNullException.ThrowIfNull(HeadWeight, nameof(HeadWeight));
        RequireVectorInitializer(InputBiases, nameof(InputBiases));
        RequireVectorInitializer(RecurrentBiases, nameof(RecurrentBiases));
        RequireVectorInitializer(HeadBias, nameof(HeadBias));
        if (ForgetGateBias is not null && ChronoMaxSteps is not null)
        {
            throw new ArgumentException(
                $"ForgetGateBias ({ForgetGateBias}) and ChronoMaxSteps ({ChronoMaxSteps}) both set the forget-gate bias; set one of them.", nameof(ChronoMaxSteps));
        }

        if (model.FusedBias)
        {
            throw new ArgumentException("model is a RecurrentLayer, whose one hidden bias b_h has no b_ih/b_hh split; initialize it with LayerInitialization.", nameof(model));
        }

        int h = model.HiddenSize, hs = model.StateSize, d = model.Directions, gates = model.Cell.Gates;
        (int Input, int Forget)? gatesWithForget = model.Cell.Description.ForgetGate;
        var random = new SeededRandom(seed);
        for (int ld = 0; ld < model.Layers * d; ld++)
        {
            // The cell's tensor order per layer-direction: weight_ih, weight_hh, bias_ih, bias_hh, then a cell's own weight
            // (the projected LSTM's W_hr, P x H, filled like W_hh: one block) — the constructor's order. h has S values
            // (H, or P with projections): W_hh is G·H x S and the layer above reads D·S.
            int inputRows = ld / d == 0 ? model.InputSize : d * hs;
            Span<T> inputBias = model.CellTensor(ld, 2);
            Span<T> recurrentBias = model.CellTensor(ld, 3);
            InputWeights.FillTensor(model.CellTensor(ld, 0), gates * h, inputRows, 1, h, random);
            RecurrentWeights.FillTensor(model.CellTensor(ld, 1), gates * h, hs, gates, h, random);
            InputBiases.FillTensor(inputBias, gates * h, 1, 1, h, random);
            RecurrentBiases.FillTensor(recurrentBias, gates * h, 1, 1, h, random);
            if (model.OwnWeights(ld) is { Length: > 0 } ownWeight)
            {
                RecurrentWeights.FillTensor(ownWeight, hs, h, 1, h, random);
            }
            if (ForgetGateBias is double forget && gatesWithForget is (_, int forgetBlock))
            {
                // The forget block (LSTM's f, rows H..2H) in b_ih; b_hh carries nothing there, so the sum is exact.
                inputBias.Slice(forgetBlock * h, h).Fill(T.CreateTruncating(forget));
                recurrentBias.Slice(forgetBlock * h, h).Clear();
            }

            if (ChronoMaxSteps is int maxSteps && gatesWithForget is (int inputBlock, int chronoForget))
            {
                // Chrono: b_f = ln u, u ~ U(1, T_max − 1); b_i = −b_f, all in b_ih.
                for (int j = 0; j < h; j++)
                {
                    double forgetBias = PortableMath.Log(random.NextUniform(1, maxSteps - 1));
                    inputBias[(chronoForget * h) + j] = T.CreateTruncating(forgetBias);
                    inputBias[(inputBlock * h) + j] = T.CreateTruncating(-forgetBias);
                }

                recurrentBias.Slice(inputBlock * h, h).Clear();
                recurrentBias.Slice(chronoForget * h, h).Clear();
            }
        }

        HeadWeight.FillTensor(model.Parameters[model.HeadWeightIndex], model.OutputSize, d * hs, 1, d * hs, random);
        HeadBias.FillTensor(model.Parameters[model.HeadBiasIndex], model.OutputSize, 1, 1, d * hs, random);
    }

    private static void RequireVectorInitializer(Initializer initializer, string name)
    {
        ArgumentNullException.ThrowIfNull(initializer, name);
        if (initializer.NeedsMatrix)
        {
            throw new ArgumentException($"{name} fills bias vectors but {initializer.Name} needs a matrix; use Zeros, PyTorchDefault, Uniform or Normal.", name);
        }
    }
}
