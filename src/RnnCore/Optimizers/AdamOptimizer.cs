using System.Numerics;

namespace RnnCore.Optimizers;

/// <summary>
/// Adam, optionally AMSGrad, with L2 weight decay (not AdamW's decoupled decay): PyTorch 1.13's
/// <c>torch.optim.Adam</c> (single-tensor path), step for step.
/// </summary>
/// <remarks>
/// For step <c>t</c> (1-based) and each element, with <c>g</c> the gradient, <c>w</c> the parameter and the moments
/// <c>m</c>, <c>v</c> (and AMSGrad's running maximum <c>vMax</c>) starting at zero:
/// <code>
/// g        = g + weightDecay · w                (only when weightDecay ≠ 0)
/// m        = beta1 · m + (1 − beta1) · g
/// v        = beta2 · v + (1 − beta2) · g · g
/// vMax     = max(vMax, v)                       (amsgrad only; then vMax replaces v below)
/// stepSize = lr / (1 − beta1^t)                 (in double, as PyTorch computes it in Python)
/// denom    = sqrt(v) / sqrt(1 − beta2^t) + eps
/// w        = w − stepSize · m / denom
/// </code>
/// <para>Source: PyTorch 1.13.1 torch/optim/adam.py, <c>_single_tensor_adam</c> (not capturable).
/// Options are checked as in its constructor, and stricter: every option finite (the learning rate non-negative, 0 included, as PyTorch allows).</para>
/// Note that eps is added after the bias correction of <c>sqrt(v)</c>, as PyTorch does.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class AdamOptimizer<T> : OptimizerBase<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int FirstMomentSlot = 0;
    private const int SecondMomentSlot = 1;
    private const int MaxSecondMomentSlot = 2;

    private readonly T _beta1;
    private readonly T _oneMinusBeta1;
    private readonly T _beta2;
    private readonly T _oneMinusBeta2;
    private readonly T _epsilon;
    private readonly T _weightDecay;
    private T _negativeStepSize;
    private T _biasCorrection2Sqrt;

    /// <summary>Creates the optimizer; the moment buffers are allocated on the first step.</summary>
    /// <param name="learningRate">Step size (<c>lr</c>); non-negative and finite.</param>
    /// <param name="beta1">Decay of the first-moment average (<c>betas[0]</c>); in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment average (<c>betas[1]</c>); in [0, 1).</param>
    /// <param name="epsilon">Added to the bias-corrected root of the second moment (<c>eps</c>); non-negative and finite.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient; non-negative and finite.</param>
    /// <param name="amsGrad">Use the running maximum of the second moment (AMSGrad).</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is outside its range; the message names it and its value.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public AdamOptimizer(
        double learningRate = 0.001,
        double beta1 = 0.9,
        double beta2 = 0.999,
        double epsilon = 1e-8,
        double weightDecay = 0,
        bool amsGrad = false)
        : base(learningRate, weightDecay, buffersPerTensor: amsGrad ? 3 : 2)
    {
        Beta1 = OptimizerGuard.InHalfOpenUnitInterval(beta1, nameof(beta1));
        Beta2 = OptimizerGuard.InHalfOpenUnitInterval(beta2, nameof(beta2));
        Epsilon = OptimizerGuard.NonNegativeFinite(epsilon, nameof(epsilon));
        AmsGrad = amsGrad;
        _beta1 = Cast(beta1);
        _oneMinusBeta1 = Cast(1 - beta1);
        _beta2 = Cast(beta2);
        _oneMinusBeta2 = Cast(1 - beta2);
        _epsilon = Cast(epsilon);
        _weightDecay = Cast(weightDecay);
    }

    /// <summary>Decay of the first-moment average (PyTorch's <c>betas[0]</c>).</summary>
    public double Beta1 { get; }

    /// <summary>Decay of the second-moment average (PyTorch's <c>betas[1]</c>).</summary>
    public double Beta2 { get; }

    /// <summary>Added to the bias-corrected root of the second moment (PyTorch's <c>eps</c>).</summary>
    public double Epsilon { get; }

    /// <summary>Whether the AMSGrad variant is used (PyTorch's <c>amsgrad</c>).</summary>
    public bool AmsGrad { get; }

    private protected override void BeginStep(long step)
    {
        // PyTorch computes the bias corrections in Python floats (double) from the step count, then rounds them
        // to the tensor's type when they enter the element-wise kernels.
        double biasCorrection1 = 1 - Math.Pow(Beta1, step);
        double biasCorrection2 = 1 - Math.Pow(Beta2, step);
        _negativeStepSize = Cast(-(LearningRate / biasCorrection1));
        _biasCorrection2Sqrt = Cast(Math.Sqrt(biasCorrection2));
    }

    private protected override void UpdateTensor(int tensorIndex, Span<T> parameter, ReadOnlySpan<T> gradient)
    {
        bool applyWeightDecay = WeightDecay != 0;
        Span<T> firstMoment = State(tensorIndex, FirstMomentSlot);
        Span<T> secondMoment = State(tensorIndex, SecondMomentSlot);
        Span<T> maxSecondMoment = AmsGrad ? State(tensorIndex, MaxSecondMomentSlot) : default;
        for (int k = 0; k < parameter.Length; k++)
        {
            T g = gradient[k];
            if (applyWeightDecay)
            {
                g += _weightDecay * parameter[k];
            }

            firstMoment[k] = (firstMoment[k] * _beta1) + (_oneMinusBeta1 * g);
            secondMoment[k] = (secondMoment[k] * _beta2) + (_oneMinusBeta2 * g * g);

            T v = secondMoment[k];
            if (AmsGrad)
            {
                // torch.maximum: NaN-propagating, like T.Max.
                maxSecondMoment[k] = T.Max(maxSecondMoment[k], v);
                v = maxSecondMoment[k];
            }

            T denominator = (T.Sqrt(v) / _biasCorrection2Sqrt) + _epsilon;

            // PyTorch's addcdiv: w + (value · m) / denom.
            parameter[k] += _negativeStepSize * firstMoment[k] / denominator;
        }
    }
}
