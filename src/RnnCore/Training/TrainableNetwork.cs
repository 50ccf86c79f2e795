using RnnCore.Models;

namespace RnnCore.Training;

/// <summary>
/// What the <see cref="Trainer{T}"/> drives, for any network (the vanilla <see cref="RecurrentLayer{T}"/> included). A pass
/// holds one cache and one set of gradients for its capacity and uses their first T steps for a batch of T steps:
/// memory stays bounded (one cache per batch size) and a batch of any length allocates nothing; a batch's result, its
/// dropout masks included, does not depend on the batches before it (a resumed run draws the same masks as one that
/// never stopped).
/// </summary>
/// <remarks>
/// The carried state of one sequence is <see cref="StateRows"/> values: every layer-direction's h, then its c for LSTM,
/// stacked as [h_0; c_0; h_1; c_1; …] (index layer·D + direction); the vanilla layer's is its h.
/// </remarks>
internal sealed class TrainableNetwork<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    private Bptt<T>? _bptt;

    public TrainableNetwork(RecurrentModel<T> model) => Model = model;

    public RecurrentModel<T> Model { get; }

    public int InputSize => Model.InputSize;

    public int OutputSize => Model.OutputSize;

    public OutputActivation OutputActivation => Model.Options.OutputActivation;

    public TensorSet<T> Parameters => Model.Parameters;

    /// <summary>[h; c] (c for LSTM only; h has P rows with projections) of every layer-direction, index layer·D + direction.</summary>
    public int StateRows => LayerDirections * (Model.StateSize + (Model.Cell.HasCellState ? Model.HiddenSize : 0));

    public int LayerDirections => Model.Layers * Model.Directions;

    public NetworkPass<T> CreatePass(int capacity, int batch, LossPlacement placement, LossReduction reduction)
    {
        _bptt ??= new Bptt<T>(Model, placement, reduction);
        return new NetworkPass<T>(this, _bptt, capacity, batch);
    }

    /// <summary>ρ(W_hh) for vanilla cells; NaN for LSTM and GRU, whose W_hh stacks the gates (G·H x H, not square).</summary>
    public double SpectralRadius(int layerDirection)
    {
        if (Model.Cell.Gates != 1)
        {
            return double.NaN;
        }

        return GradientHealth.EstimateSpectralRadius(Model.Parameter(Model.Parameters.GetName(Model.TensorIndices(layerDirection)[1])));
    }

    public (int Layer, int Direction) Locate(int layerDirection) =>
        (layerDirection / Model.Directions, layerDirection % Model.Directions);
}

/// <summary>One batch size's cache and gradients, used for batches of any length up to its capacity.</summary>
internal sealed class NetworkPass<T>
    where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    private readonly TrainableNetwork<T> _network;
    private readonly Bptt<T> _bptt;
    private readonly ForwardCache<T> _cache;
    private readonly T[] _output; // [O]: the column Output returns
    private RecurrentGradients<T>? _gradients;
    private bool _padded;

    public NetworkPass(TrainableNetwork<T> network, Bptt<T> bptt, int capacity, int batch)
    {
        _network = network;
        _bptt = bptt;
        _cache = network.Model.CreateCache(capacity, batch);
        _output = new T[network.OutputSize];
    }

    public int Capacity => _cache.Capacity;

    public int Batch => _cache.Batch;

    public int Steps => _cache.Steps;

    public Span<T> Inputs => _cache.Inputs;

    /// <summary>Where a batch's token ids go ([T·B], −1 at padding) when <see cref="IdInput"/> is set.</summary>
    public Span<int> Ids => _cache.EnsureIds();

    /// <summary>True when the next pass reads <see cref="Ids"/>, false when it reads <see cref="Inputs"/>.</summary>
    public bool IdInput
    {
        set => _cache.IdInput = value;
    }

    public int[] Lengths => _cache.Lengths;

    public bool HasLengths
    {
        set => _padded = value;
    }

    public ReadOnlySpan<T> Output(int column)
    {
        _cache.OutputColumns(column, 1, _output);
        return _output;
    }

    public TensorSet<T> ParameterGradients => Gradients.ParameterGradients;

    private RecurrentGradients<T> Gradients
    {
        get
        {
            _gradients ??= _network.Model.CreateGradients(_cache.Capacity, _cache.Batch);
            if (_gradients.Steps != _cache.Steps)
            {
                _gradients.UseSteps(_cache.Steps);
            }

            return _gradients;
        }
    }

    // Batches of any length up to the capacity reuse the cache and the gradients: nothing is allocated.
    public void UseSteps(int steps) => _cache.UseSteps(steps);

    public void LoadState(ReadOnlySpan<T> state)
    {
        RecurrentModel<T> model = _network.Model;
        int block = model.StateSize * _cache.Batch;
        int cellBlock = model.HiddenSize * _cache.Batch;
        int at = 0;
        for (int ld = 0; ld < _cache.Hiddens.Length; ld++)
        {
            state.Slice(at, block).CopyTo(_cache.StateBlock(_cache.Hiddens[ld], 0));
            at += block;
            if (model.Cell.HasCellState)
            {
                state.Slice(at, cellBlock).CopyTo(_cache.StateBlock(_cache.Cells[ld], 0));
                at += cellBlock;
            }
        }
    }

    public void StoreFinalState(Span<T> state)
    {
        RecurrentModel<T> model = _network.Model;
        int block = model.StateSize * _cache.Batch;
        int cellBlock = model.HiddenSize * _cache.Batch;
        int at = 0;
        for (int ld = 0; ld < _cache.Hiddens.Length; ld++)
        {
            _cache.FinalState(_cache.Hiddens[ld], state.Slice(at, block));
            at += block;
            if (model.Cell.HasCellState)
            {
                _cache.FinalState(_cache.Cells[ld], state.Slice(at, cellBlock));
                at += cellBlock;
            }
        }
    }

    public void Forward(bool training)
    {
        RecurrentModel<T> model = _network.Model;
        _cache.HasLengths = _padded;
        bool dropout = training && model.Options.Dropout > 0 && model.Layers > 1;
        if (dropout)
        {
            model.DrawDropoutMasks(_cache);
        }

        model.ForwardCore(_cache, dropout);
    }

    // Rounded to T, as Bptt.Loss and the layer's loss are.
    public double Loss(SequenceTargets<T> targets) =>
        double.CreateTruncating(T.CreateTruncating(_network.Model.Head.Loss(
            _cache.Logits, _cache.LogSumExps, targets, 0, _cache.Lengths, _cache.Steps, _bptt.Placement, _bptt.Reduction)));

    public double Backward(SequenceTargets<T> targets, int targetStep0) =>
        double.CreateTruncating(_bptt.BackwardCore(_cache, targets, targetStep0, Gradients));

    public ReadOnlySpan<double> DhNorms(int layerDirection) => Gradients.DhNormsData[layerDirection].AsSpan(0, _cache.Steps);
}
