using System.Numerics;

namespace RnnCore.Optimizers;

/// <summary>
/// Adagrad: PyTorch 1.13's <c>torch.optim.Adagrad</c> (dense gradients), step for step.
/// </summary>
/// <remarks>
/// For step <c>t</c> (1-based) and each element, with <c>g</c> the gradient, <c>w</c> the parameter and <c>s</c> the
/// accumulated squares (starting at <c>initialAccumulatorValue</c>):
/// <code>
/// g   = g + weightDecay · w                     (only when weightDecay ≠ 0)
/// clr = lr / (1 + (t − 1) · lrDecay)
/// s   = s + g · g
/// w   = w − clr · g / (sqrt(s) + eps)
/// </code>
/// <para>Source: PyTorch 1.13.1 torch/optim/adagrad.py, <c>_single_tensor_adagrad</c>.
/// Options are checked as in its constructor, and stricter: every option finite (the learning rate non-negative, 0 included, as PyTorch allows).</para>
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class AdagradOptimizer<T> : OptimizerBase<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int SumSlot = 0;

    private readonly T _weightDecay;
    private readonly T _epsilon;
    private readonly T _initialAccumulator;
    private T _negativeCurrentLearningRate;

    /// <summary>Creates the optimizer; the accumulators are allocated (and filled) on the first step.</summary>
    /// <param name="learningRate">Step size (<c>lr</c>); non-negative and finite.</param>
    /// <param name="learningRateDecay">Decay of the step size with the step count (<c>lr_decay</c>); non-negative and finite.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient; non-negative and finite.</param>
    /// <param name="initialAccumulatorValue">Starting value of every accumulated square; non-negative and finite.</param>
    /// <param name="epsilon">Added to the square root of the accumulator (<c>eps</c>); non-negative and finite.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is outside its range; the message names it and its value.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public AdagradOptimizer(
        double learningRate = 0.01,
        double learningRateDecay = 0,
        double weightDecay = 0,
        double initialAccumulatorValue = 0,
        double epsilon = 1e-10)
        : base(learningRate, weightDecay, buffersPerTensor: 1)
    {
        LearningRateDecay = OptimizerGuard.NonNegativeFinite(learningRateDecay, nameof(learningRateDecay));
        InitialAccumulatorValue = OptimizerGuard.NonNegativeFinite(initialAccumulatorValue, nameof(initialAccumulatorValue));
        Epsilon = OptimizerGuard.NonNegativeFinite(epsilon, nameof(epsilon));
        _weightDecay = Cast(weightDecay);
        _epsilon = Cast(epsilon);
        _initialAccumulator = Cast(initialAccumulatorValue);
    }

    /// <summary>Decay of the step size with the step count (PyTorch's <c>lr_decay</c>).</summary>
    public double LearningRateDecay { get; }

    /// <summary>Starting value of every accumulated square (PyTorch's <c>initial_accumulator_value</c>).</summary>
    public double InitialAccumulatorValue { get; }

    /// <summary>Added to the square root of the accumulator (PyTorch's <c>eps</c>).</summary>
    public double Epsilon { get; }

    private protected override void InitializeState(int tensorIndex, int slot, Span<T> buffer) =>
        buffer.Fill(_initialAccumulator);

    private protected override void BeginStep(long step)
    {
        // Computed in double, as PyTorch does in Python, then rounded once.
        double currentLearningRate = LearningRate / (1 + ((step - 1) * LearningRateDecay));
        _negativeCurrentLearningRate = Cast(-currentLearningRate);
    }

    private protected override void UpdateTensor(int tensorIndex, Span<T> parameter, ReadOnlySpan<T> gradient)
    {
        bool applyWeightDecay = WeightDecay != 0;
        Span<T> sum = State(tensorIndex, SumSlot);
        for (int k = 0; k < parameter.Length; k++)
        {
            T g = gradient[k];
            if (applyWeightDecay)
            {
                g += _weightDecay * parameter[k];
            }

            sum[k] += g * g;
            T std = T.Sqrt(sum[k]) + _epsilon;

            // PyTorch's addcdiv: w + (value · g) / std.
            parameter[k] += _negativeCurrentLearningRate * g / std;
        }
    }
}
