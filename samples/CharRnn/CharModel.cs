using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Persistence;

namespace RnnCore.Samples.CharRnn;

/// <summary>
/// The network CharRnn trains, whatever its cell: one chunk of T characters for B streams is one forward pass from the
/// state the previous chunk left (carried as a value: truncated BPTT), one BPTT with cross-entropy averaged over the
/// T·B characters, a clip and an optimizer step. The same reading without updates measures the validation loss.
/// One driver for every network: the vanilla <see cref="RecurrentLayer{T}"/> of the default run (<c>--cell rnn --layers 1</c>)
/// and a <see cref="RecurrentModel{T}"/> for LSTM, GRU and stacked layers with dropout; every one saves checkpoints.
/// </summary>
public sealed class CharModel(RecurrentModel<float> model, int steps, int batch, int validationBatch)
{
    /// <summary>A <see cref="RecurrentModel{T}"/> with the options' cell, layers and dropout.</summary>
    public static CharModel ForModel(RecurrentModel<float> model, int steps, int batch, int validationBatch) =>
        new CharModel(model, steps, batch, validationBatch);

    /// <summary>The vanilla layer.</summary>
    public static CharModel ForLayer(RecurrentLayer<float> layer, int steps, int batch, int validationBatch) =>
        new CharModel(layer, steps, batch, validationBatch);

    private readonly Bptt<float> _bptt = new(model, LossPlacement.EveryStep, LossReduction.Mean);
    private readonly ForwardCache<float> _cache = model.CreateCache(steps, batch);
    private readonly RecurrentGradients<float> _gradients = model.CreateGradients(steps, batch);
    private readonly ForwardCache<float> _validationCache = model.CreateCache(steps, validationBatch);
    private readonly ForwardCache<float> _stepCache = model.CreateCache(1, 1);
    private readonly bool _hasCell = model.Options.Cell == RecurrentCellKind.Lstm;
    private (IReadOnlyList<Matrix<float>>? H, IReadOnlyList<Matrix<float>>? C) _state, _validationState, _stepState;

    /// <summary>One line for the log: the cell, the layers, the sizes.</summary>
    public string Description => model is RecurrentLayer<float>
        ? $"vanilla tanh RNN, 1 layer, H = {model.HiddenSize}"
        : $"{(model.Options.Cell == RecurrentCellKind.Vanilla ? "RNN (tanh)" : model.Options.Cell.ToString().ToUpperInvariant())}, {model.Layers} layer{(model.Layers == 1 ? "" : "s")}, H = {model.HiddenSize}, dropout {model.Options.Dropout}";

    public long ParameterCount => model.Parameters.TotalLength;

    /// <summary>‖dL/dh_t‖ for t = 0..T−1 of the last training chunk (the first layer's).</summary>
    public IReadOnlyList<double> DhNorms => _gradients.DhNorms(0, 0);

    /// <summary>Trains on one chunk from the carried state and carries the final state on; returns the chunk's loss.</summary>
    public float TrainChunk(List<Matrix<float>> inputs, SequenceTargets<float> targets, OptimizerBase<float> optimizer, Clipping clipping)
    {
        // training: true draws fresh dropout masks between the layers (none when p = 0 or L = 1).
        model.Forward(inputs, _cache, _state.H, _state.C, training: true);
        float loss = _bptt.Backward(_cache, targets, _gradients);
        clipping.Apply(_gradients.ParameterGradients);
        optimizer.Step(model.Parameters, _gradients.ParameterGradients);
        _state = Final(_cache);
        return loss;
    }

    /// <summary>Starts the next training chunk from zeros (an epoch's start).</summary>
    public void ResetTrainingState() => _state = default;

    /// <summary>The loss of one held-out chunk (inference: no dropout), carrying the validation state; <paramref name="first"/> resets it.</summary>
    public float EvaluateChunk(List<Matrix<float>> inputs, SequenceTargets<float> targets, bool first)
    {
        if (first)
        {
            _validationState = default;
        }

        model.Forward(inputs, _validationCache, _validationState.H, _validationState.C);
        _validationState = Final(_validationCache);
        return _bptt.Loss(_validationCache, targets);
    }

    /// <summary>The softmax y_t after feeding one character (V x 1), carrying the generation state; <paramref name="first"/> resets it.</summary>
    public Matrix<float> Step(Matrix<float> input, bool first)
    {
        if (first)
        {
            _stepState = default;
        }

        model.Forward([input], _stepCache, _stepState.H, _stepState.C);
        _stepState = Final(_stepCache);
        return _stepCache.Output(0);
    }

    public void Save(string path, OptimizerBase<float> optimizer, TrainingPosition position) => ModelFile.Save(model, path, optimizer, position);

    // Every layer's h_n (and c_n for LSTM): the next chunk's h_0 (and c_0).
    private (IReadOnlyList<Matrix<float>>, IReadOnlyList<Matrix<float>>?) Final(ForwardCache<float> cache) =>
        (cache.FinalHiddens(), _hasCell ? cache.FinalCells() : null);
}
