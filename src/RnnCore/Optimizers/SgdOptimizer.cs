using System.Numerics;
using System.Numerics.Tensors;

namespace RnnCore.Optimizers;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and weight decay: PyTorch 1.13's
/// <c>torch.optim.SGD</c>, step for step.
/// </summary>
/// <remarks>
/// For each element, with <c>g</c> the gradient and <c>w</c> the parameter:
/// <code>
/// g = g + weightDecay · w                       (only when weightDecay ≠ 0)
/// b = g                                         (first step: the momentum buffer starts as the gradient)
/// b = momentum · b + (1 − dampening) · g        (later steps; only when momentum ≠ 0)
/// g = nesterov ? g + momentum · b : b           (only when momentum ≠ 0)
/// w = w − lr · g
/// </code>
/// <para>Source: PyTorch 1.13.1 torch/optim/sgd.py, <c>_single_tensor_sgd</c>.
/// Options are checked as in its constructor, and stricter: every option finite (the learning rate non-negative, 0 included, as PyTorch allows),
/// and dampening must lie in [0, 1].</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class SgdOptimizer<T> : OptimizerBase<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly bool _hasMomentum;
    private readonly T _momentum;
    private readonly T _oneMinusDampening;
    private readonly T _weightDecay;
    private T _negativeLearningRate;

    /// <summary>Creates the optimizer; the momentum buffers are allocated on the first step.</summary>
    /// <param name="learningRate">Step size (<c>lr</c>, which PyTorch requires too); non-negative and finite.</param>
    /// <param name="momentum">Momentum factor; non-negative and finite. 0 turns momentum off.</param>
    /// <param name="dampening">Dampening of the gradient added to the momentum buffer; in [0, 1].</param>
    /// <param name="nesterov">Use Nesterov momentum; requires <paramref name="momentum"/> &gt; 0 and zero dampening.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient; non-negative and finite.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is outside its range; the message names it and its value.</exception>
    /// <exception cref="ArgumentException">Nesterov momentum without momentum, or with dampening.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public SgdOptimizer(
        double learningRate, double momentum = 0, double dampening = 0, bool nesterov = false, double weightDecay = 0)
        : base(learningRate, weightDecay, buffersPerTensor: momentum > 0 ? 1 : 0)
    {
        Momentum = OptimizerGuard.NonNegativeFinite(momentum, nameof(momentum));
        Dampening = OptimizerGuard.InClosedUnitInterval(dampening, nameof(dampening));
        if (nesterov && (momentum <= 0 || dampening != 0))
        {
            throw new ArgumentException(
                $"Nesterov momentum requires a momentum and zero dampening, but momentum was {momentum} and dampening "
                + $"was {dampening}.",
                nameof(nesterov));
        }

        Nesterov = nesterov;
        _hasMomentum = momentum != 0;
        _momentum = Cast(momentum);
        _oneMinusDampening = Cast(1 - dampening);
        _weightDecay = Cast(weightDecay);
    }

    /// <summary>The momentum factor (PyTorch's <c>momentum</c>); 0 means plain SGD.</summary>
    public double Momentum { get; }

    /// <summary>Dampening of the gradient added to the momentum buffer (PyTorch's <c>dampening</c>).</summary>
    public double Dampening { get; }

    /// <summary>Whether Nesterov momentum is used (PyTorch's <c>nesterov</c>).</summary>
    public bool Nesterov { get; }

    private protected override void BeginStep(long step) => _negativeLearningRate = Cast(-LearningRate);

    private protected override void UpdateTensor(int tensorIndex, Span<T> parameter, ReadOnlySpan<T> gradient)
    {
        bool applyWeightDecay = WeightDecay != 0;
        if (!applyWeightDecay && !_hasMomentum)
        {
            // Plain SGD, w = g·(−lr) + w: TensorPrimitives' unfused multiply-add, the same rounding as the loop below.
            TensorPrimitives.MultiplyAdd(gradient, _negativeLearningRate, parameter, parameter);
            return;
        }

        bool firstStep = StepCount == 1;
        Span<T> buffer = _hasMomentum ? State(tensorIndex, 0) : default;
        for (int k = 0; k < parameter.Length; k++)
        {
            T g = gradient[k];
            if (applyWeightDecay)
            {
                g += _weightDecay * parameter[k];
            }

            if (_hasMomentum)
            {
                // PyTorch creates the buffer as a copy of the first gradient (no dampening on that step).
                buffer[k] = firstStep ? g : (buffer[k] * _momentum) + (_oneMinusDampening * g);
                g = Nesterov ? g + (_momentum * buffer[k]) : buffer[k];
            }

            parameter[k] += _negativeLearningRate * g;
        }
    }
}
