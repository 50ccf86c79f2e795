using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;

namespace RnnCore.Benchmarks;

/// <summary>
/// The peers' training step on fixed random data, with every buffer created once as a training loop would: forward
/// over T steps, output layer and softmax cross-entropy (mean) at every step, full BPTT, one SGD update (learning rate
/// 0.01). The vanilla tanh RNN (cell "rnn", one layer, one direction) runs on <see cref="RecurrentLayer{T}"/>; LSTM, GRU,
/// stacked and bidirectional models on <see cref="RecurrentModel{T}"/>, as ../shared/peers/pytorch_rnn_step.py's
/// <c>--cell</c>, <c>--layers</c> and <c>--bidirectional</c> build them. Shared by the BenchmarkDotNet classes and
/// <see cref="PeerStep"/>, so both time the same work.
/// </summary>
public sealed class TrainingStep<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<Matrix<T>> _inputs;
    private readonly SequenceTargets<T> _targets;
    private readonly Optimizers.SgdOptimizer<T> _optimizer;

    // The vanilla layer (cell "rnn", 1 layer, 1 direction).
    private readonly RecurrentLayer<T>? _layer;
    private readonly Bptt<T>? _bptt;
    private readonly ForwardCache<T>? _cache;
    private readonly RecurrentGradients<T>? _gradients;

    // Every other shape.
    private readonly RecurrentModel<T>? _model;
    private readonly Bptt<T>? _modelBptt;
    private readonly ForwardCache<T>? _modelCache;
    private readonly RecurrentGradients<T>? _modelGradients;

    public TrainingStep(RnnConfig c, string cell = "rnn", int layers = 1, bool bidirectional = false)
    {
        var random = new Random(0);
        _inputs = Enumerable.Range(0, c.Steps)
            .Select(_ => Matrix<T>.Build.Dense(c.InputSize, c.Batch, (_, _) => T.CreateTruncating(random.NextDouble() - 0.5)))
            .ToList();
        _targets = SequenceTargets<T>.FromClasses(
            Enumerable.Range(0, c.Steps).Select(_ => Enumerable.Range(0, c.Batch).Select(_ => random.Next(c.OutputSize)).ToArray()).ToArray());
        _optimizer = new Optimizers.SgdOptimizer<T>(learningRate: 0.01);
        if (cell == "rnn" && layers == 1 && !bidirectional)
        {
            _layer = new RecurrentLayer<T>(c.InputSize, c.HiddenSize, c.OutputSize, HiddenActivation.Tanh, OutputActivation.Softmax, seed: 0);
            _bptt = new Bptt<T>(_layer, LossPlacement.EveryStep, LossReduction.Mean);
            _cache = _layer.CreateCache(c.Steps, c.Batch);
            _gradients = _layer.CreateGradients(c.Steps, c.Batch);
            return;
        }

        var options = new RecurrentModelOptions(c.InputSize, c.HiddenSize, c.OutputSize)
        {
            Cell = cell switch
            {
                "rnn" => RecurrentCellKind.Vanilla,
                "lstm" => RecurrentCellKind.Lstm,
                "gru" => RecurrentCellKind.Gru,
                _ => throw new ArgumentException($"cell is '{cell}'; expected rnn, lstm or gru.", nameof(cell)),
            },
            Layers = layers,
            Bidirectional = bidirectional,
        };
        _model = new RecurrentModel<T>(options);
        _modelBptt = new Bptt<T>(_model, LossPlacement.EveryStep, LossReduction.Mean);
        _modelCache = _model.CreateCache(c.Steps, c.Batch);
        _modelGradients = _model.CreateGradients(c.Steps, c.Batch);
    }

    /// <summary>The forward pass alone.</summary>
    public void Forward()
    {
        if (_layer is not null)
        {
            _layer.Forward(_inputs, _cache!);
        }
        else
        {
            _model!.Forward(_inputs, _modelCache!, training: true);
        }
    }

    /// <summary>Forward, BPTT and the SGD update; returns the loss.</summary>
    public T Run()
    {
        if (_layer is not null)
        {
            _layer.Forward(_inputs, _cache!);
            T loss = _bptt!.Backward(_cache!, _targets, _gradients!);
            _optimizer.Step(_layer.Parameters, _gradients!.ParameterGradients);
            return loss;
        }

        _model!.Forward(_inputs, _modelCache!, training: true);
        T modelLoss = _modelBptt!.Backward(_modelCache!, _targets, _modelGradients!);
        _optimizer.Step(_model.Parameters, _modelGradients!.ParameterGradients);
        return modelLoss;
    }
}
