using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Optimizers;

namespace RnnCore.Samples.AddingProblem;

/// <summary>
/// One model of the comparison with its own Adam optimizer and buffers: an update (forward over all T steps, BPTT with
/// the squared error at the last step, the batch's mean, a clip and an Adam step), the held-out error, and the last
/// update's ‖dL/dh_t‖ for every t. One driver for every network: the vanilla <see cref="RecurrentLayer{T}"/> (tanh and
/// IRNN) and the <see cref="RecurrentModel{T}"/> (LSTM and GRU).
/// </summary>
public sealed class AddingLearner(RecurrentModel<float> model, int steps, int batch, int testSize, double learningRate)
{
    /// <summary>The vanilla layer's learner (tanh with default initialization, or the IRNN).</summary>
    public static AddingLearner ForLayer(RecurrentLayer<float> layer, int steps, int batch, int testSize, double learningRate) =>
        new AddingLearner(layer, steps, batch, testSize, learningRate);

    /// <summary>A <see cref="RecurrentModel{T}"/>'s learner (one LSTM or GRU layer): only the first layer's forward direction has dh norms to show.</summary>
    public static AddingLearner ForModel(RecurrentModel<float> model, int steps, int batch, int testSize, double learningRate) =>
        new AddingLearner(model, steps, batch, testSize, learningRate);

    private readonly Bptt<float> _bptt = new(model, LossPlacement.LastStep, LossReduction.Mean);
    private readonly AdamOptimizer<float> _optimizer = new(learningRate);
    private readonly ForwardCache<float> _cache = model.CreateCache(steps, batch);
    private readonly RecurrentGradients<float> _gradients = model.CreateGradients(steps, batch);
    private readonly ForwardCache<float> _testCache = model.CreateCache(steps, testSize);

    /// <summary>‖dL/dh_t‖ for t = 0..T−1 from the last backward pass (a copy).</summary>
    public IReadOnlyList<double> DhNorms => _gradients.DhNorms(0, 0).ToArray();

    /// <summary>Forward, BPTT, clip and step on one batch; returns the batch's mean squared error before the step.</summary>
    public double Update(List<Matrix<float>> inputs, SequenceTargets<float> targets, Clipping clipping)
    {
        model.Forward(inputs, _cache, training: true);
        float loss = _bptt.Backward(_cache, targets, _gradients);
        clipping.Apply(_gradients.ParameterGradients);
        _optimizer.Step(model.Parameters, _gradients.ParameterGradients);
        return loss;
    }

    /// <summary>Forward and BPTT without a step, so that <see cref="DhNorms"/> describes the model as it is.</summary>
    public void MeasureGradients(List<Matrix<float>> inputs, SequenceTargets<float> targets)
    {
        model.Forward(inputs, _cache, training: true);
        _bptt.Backward(_cache, targets, _gradients);
    }

    /// <summary>The held-out mean squared error (an inference pass).</summary>
    public double TestMse(List<Matrix<float>> inputs, SequenceTargets<float> targets)
    {
        model.Forward(inputs, _testCache);
        return _bptt.Loss(_testCache, targets);
    }
}
