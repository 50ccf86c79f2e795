using System.Numerics;

namespace RnnCore.Optimizers;

/// <summary>
/// RMSprop, optionally centered and with momentum: PyTorch 1.13's <c>torch.optim.RMSprop</c>, step for step.
/// </summary>
/// <remarks>
/// For each element, with <c>g</c> the gradient, <c>w</c> the parameter, and the averages <c>v</c> (squares),
/// <c>m</c> (gradients, centered only) and the momentum buffer <c>b</c> all starting at zero:
/// <code>
/// g   = g + weightDecay · w                     (only when weightDecay ≠ 0)
/// v   = alpha · v + (1 − alpha) · g · g
/// m   = alpha · m + (1 − alpha) · g             (centered only)
/// avg = sqrt(v − m · m) + eps                   (centered; otherwise sqrt(v) + eps)
/// b   = momentum · b + g / avg;  w = w − lr · b (when momentum &gt; 0)
/// w   = w − lr · g / avg                        (otherwise)
/// </code>
/// <para>Source: PyTorch 1.13.1 torch/optim/rmsprop.py, <c>_single_tensor_rmsprop</c>.
/// Options are checked as in its constructor, and stricter: every option finite (the learning rate non-negative, 0 included, as PyTorch allows),
/// and alpha must lie in [0, 1].</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class RmsPropOptimizer<T> : OptimizerBase<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int SquareAverageSlot = 0;

    private readonly int _momentumSlot;
    private readonly int _gradientAverageSlot;
    private readonly T _alpha;
    private readonly T _oneMinusAlpha;
    private readonly T _epsilon;
    private readonly T _momentum;
    private readonly T _weightDecay;
    private T _negativeLearningRate;

    /// <summary>Creates the optimizer; the averages and buffers are allocated on the first step.</summary>
    /// <param name="learningRate">Step size (<c>lr</c>); non-negative and finite.</param>
    /// <param name="alpha">Smoothing constant of the averages; in [0, 1].</param>
    /// <param name="epsilon">Added to the root of the average (<c>eps</c>); non-negative and finite.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient; non-negative and finite.</param>
    /// <param name="momentum">Momentum factor; non-negative and finite. 0 turns momentum off.</param>
    /// <param name="centered">Normalise by the estimated variance (subtract the squared average gradient).</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is outside its range; the message names it and its value.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public RmsPropOptimizer(
        double learningRate = 0.01,
        double alpha = 0.99,
        double epsilon = 1e-8,
        double weightDecay = 0,
        double momentum = 0,
        bool centered = false)
        : base(learningRate, weightDecay, buffersPerTensor: 1 + (momentum > 0 ? 1 : 0) + (centered ? 1 : 0))
    {
        Alpha = OptimizerGuard.InClosedUnitInterval(alpha, nameof(alpha));
        Epsilon = OptimizerGuard.NonNegativeFinite(epsilon, nameof(epsilon));
        Momentum = OptimizerGuard.NonNegativeFinite(momentum, nameof(momentum));
        Centered = centered;
        _momentumSlot = momentum > 0 ? 1 : -1;
        _gradientAverageSlot = centered ? (momentum > 0 ? 2 : 1) : -1;
        _alpha = Cast(alpha);
        _oneMinusAlpha = Cast(1 - alpha);
        _epsilon = Cast(epsilon);
        _momentum = Cast(momentum);
        _weightDecay = Cast(weightDecay);
    }

    /// <summary>Smoothing constant of the averages (PyTorch's <c>alpha</c>).</summary>
    public double Alpha { get; }

    /// <summary>Added to the root of the average (PyTorch's <c>eps</c>).</summary>
    public double Epsilon { get; }

    /// <summary>The momentum factor (PyTorch's <c>momentum</c>); 0 means no momentum buffer.</summary>
    public double Momentum { get; }

    /// <summary>Whether the variance estimate is centered (PyTorch's <c>centered</c>).</summary>
    public bool Centered { get; }

    private protected override void BeginStep(long step) => _negativeLearningRate = Cast(-LearningRate);

    private protected override void UpdateTensor(int tensorIndex, Span<T> parameter, ReadOnlySpan<T> gradient)
    {
        bool applyWeightDecay = WeightDecay != 0;
        bool hasMomentum = _momentumSlot >= 0;
        Span<T> squareAverage = State(tensorIndex, SquareAverageSlot);
        Span<T> buffer = hasMomentum ? State(tensorIndex, _momentumSlot) : default;
        Span<T> gradientAverage = Centered ? State(tensorIndex, _gradientAverageSlot) : default;
        for (int k = 0; k < parameter.Length; k++)
        {
            T g = gradient[k];
            if (applyWeightDecay)
            {
                g += _weightDecay * parameter[k];
            }

            // PyTorch's addcmul: v + (value · g) · g.
            squareAverage[k] = (squareAverage[k] * _alpha) + (_oneMinusAlpha * g * g);

            T average;
            if (Centered)
            {
                gradientAverage[k] = (gradientAverage[k] * _alpha) + (_oneMinusAlpha * g);
                average = T.Sqrt(squareAverage[k] - (gradientAverage[k] * gradientAverage[k]));
            }
            else
            {
                average = T.Sqrt(squareAverage[k]);
            }

            average += _epsilon;

            if (hasMomentum)
            {
                buffer[k] = (buffer[k] * _momentum) + (g / average);
                parameter[k] += _negativeLearningRate * buffer[k];
            }
            else
            {
                // PyTorch's addcdiv: w + (value · g) / avg.
                parameter[k] += _negativeLearningRate * g / average;
            }
        }
    }
}
