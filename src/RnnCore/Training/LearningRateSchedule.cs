using System.Globalization;

namespace RnnCore.Training;

/// <summary>
/// The learning rate of each epoch as a function of the epoch and the initial rate, set on the optimizer by
/// <see cref="Trainer{T}"/> before the epoch starts (PyTorch's <c>scheduler.step()</c> once per epoch). Built-in:
/// <see cref="Constant"/>, <see cref="Step"/> (StepLR) and <see cref="Cosine"/> (CosineAnnealingLR); derive to write others.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The initial rate at every epoch.</summary>
    public static LearningRateSchedule Constant { get; } = new ConstantSchedule();

    /// <summary>The learning rate for 0-based <paramref name="epoch"/>.</summary>
    /// <param name="epoch">0-based epoch (PyTorch's <c>last_epoch</c>).</param>
    /// <param name="initialRate">The optimizer's learning rate when training started.</param>
    /// <returns>A non-negative, finite rate (0 is allowed, e.g. at the start of a warm-up).</returns>
    public abstract double RateAt(int epoch, double initialRate);

    /// <summary>
    /// PyTorch's <c>StepLR</c>: <c>lr = initial · gamma^⌊epoch / stepSize⌋</c>.
    /// </summary>
    /// <param name="stepSize">Epochs between decays; positive.</param>
    /// <param name="gamma">The factor per decay; in (0, 1] is usual, any positive finite value is accepted.</param>
    /// <returns>The schedule.</returns>
    public static LearningRateSchedule Step(int stepSize, double gamma = 0.1)
    {
        if (stepSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, $"stepSize must be positive, but was {stepSize}.");
        }

        if (!(gamma > 0) || !double.IsFinite(gamma))
        {
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, $"gamma must be positive and finite, but was {gamma}.");
        }

        return new StepSchedule(stepSize, gamma);
    }

    /// <summary>
    /// PyTorch's <c>CosineAnnealingLR</c> in closed form over <paramref name="periodEpochs"/> epochs:
    /// <c>lr = min + (initial − min) · (1 + cos(π · epoch / period)) / 2</c> for epoch = 0..period − 1. After the period
    /// the rate stays at its last value (PyTorch's formula would rise again; restarts are not included). The rate never
    /// reaches <paramref name="minimumRate"/> itself within the period, so a minimum of 0 is allowed.
    /// </summary>
    /// <param name="periodEpochs">T_max, usually the number of epochs; positive.</param>
    /// <param name="minimumRate">η_min; non-negative and finite.</param>
    /// <returns>The schedule.</returns>
    public static LearningRateSchedule Cosine(int periodEpochs, double minimumRate = 0)
    {
        if (periodEpochs <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(periodEpochs), periodEpochs, $"periodEpochs must be positive, but was {periodEpochs}.");
        }

        if (!(minimumRate >= 0) || !double.IsFinite(minimumRate))
        {
            throw new ArgumentOutOfRangeException(nameof(minimumRate), minimumRate, $"minimumRate must be non-negative and finite, but was {minimumRate}.");
        }

        return new CosineSchedule(periodEpochs, minimumRate);
    }

    private sealed class ConstantSchedule : LearningRateSchedule
    {
        public override double RateAt(int epoch, double initialRate) => initialRate;

        public override string ToString() => "Constant";
    }

    private sealed class StepSchedule(int stepSize, double gamma) : LearningRateSchedule
    {
        public override double RateAt(int epoch, double initialRate)
        {
            // Repeated multiplication, as PyTorch's StepLR applies gamma once per decay (and unlike Math.Pow, exactly
            // reproducible on every machine).
            double rate = initialRate;
            for (int decay = 0; decay < epoch / stepSize; decay++)
            {
                rate *= gamma;
            }

            return rate;
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"Step({stepSize}, {gamma})");
    }

    private sealed class CosineSchedule(int period, double minimum) : LearningRateSchedule
    {
        public override double RateAt(int epoch, double initialRate)
        {
            int e = Math.Min(epoch, period - 1);
            return minimum + ((initialRate - minimum) * (1 + Math.Cos(Math.PI * e / period)) / 2);
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"Cosine({period}, {minimum})");
    }
}
