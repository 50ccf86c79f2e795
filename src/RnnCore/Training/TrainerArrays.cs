
namespace RnnCore.Training;

/// <summary>
/// Fitting and evaluating a <see cref="Trainer{T}"/> from plain arrays, as Keras's <c>fit(x, y)</c>: the arrays become a
/// <see cref="SequenceDataset{T}"/> (<see cref="SequenceDataset{T}.FromArrays(IReadOnlyList{T[][]}, IReadOnlyList{int})"/>
/// and its siblings, which copy and check them), and <c>validationSplit</c> holds out the last part of them, as Keras's
/// <c>validation_split</c>. One target per sequence, so the loss is scored at each sequence's last step (see
/// <see cref="Trainer{T}.Placement"/>). Called as instance methods: <c>trainer.Fit(inputs, classes)</c>.
/// </summary>
public static class TrainerArrays
{
    /// <summary>
    /// Trains on sequences of steps × features with one class each, as <see cref="Trainer{T}.Fit"/> on
    /// <c>SequenceDataset&lt;T&gt;.FromArrays(inputs, classes)</c>.
    /// </summary>
    /// <param name="trainer">The trainer.</param>
    /// <param name="inputs">N sequences, each L_n ≥ 1 rows of I features; lengths may differ.</param>
    /// <param name="classes">N class indices, one per sequence.</param>
    /// <param name="validationSplit">The share of the arrays held out for validation, in [0, 1): the last
    /// N − round((1 − validationSplit) · N) sequences, in their order, before any shuffling (Keras's
    /// <c>validation_split</c>). Default 0: no validation set.</param>
    /// <param name="progress">As in <see cref="Trainer{T}.Fit"/>.</param>
    /// <param name="cancellationToken">As in <see cref="Trainer{T}.Fit"/>.</param>
    /// <returns>The <see cref="History"/>.</returns>
    /// <typeparam name="T">The element type.</typeparam>
    /// <exception cref="ArgumentException">The counts differ, a sequence is empty, ragged or not finite (the message names it), the split leaves a part empty, or the data does not suit the network (as in <see cref="Trainer{T}.Fit"/>).</exception>
    public static History Fit<T>(
        this Trainer<T> trainer, IReadOnlyList<T[][]> inputs, IReadOnlyList<int> classes, double validationSplit = 0, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        FitSplit(trainer, SequenceDataset<T>.FromArrays(inputs, classes), validationSplit, progress, cancellationToken);

    /// <summary>Trains on sequences of steps × features with one target vector each (a regressor), as <see cref="Fit{T}(Trainer{T}, IReadOnlyList{T[][]}, IReadOnlyList{int}, double, IProgress{TrainingProgress}, CancellationToken)"/>.</summary>
    /// <param name="trainer">The trainer.</param>
    /// <param name="inputs">N sequences, each L_n ≥ 1 rows of I features.</param>
    /// <param name="targets">N target vectors of the network's output size.</param>
    /// <param name="validationSplit">The share held out for validation, the last sequences; in [0, 1). Default 0.</param>
    /// <param name="progress">As in <see cref="Trainer{T}.Fit"/>.</param>
    /// <param name="cancellationToken">As in <see cref="Trainer{T}.Fit"/>.</param>
    /// <returns>The <see cref="History"/>.</returns>
    /// <typeparam name="T">The element type.</typeparam>
    /// <exception cref="ArgumentException">The counts differ, a sequence or target is empty, ragged or not finite, the split leaves a part empty, or the data does not suit the network.</exception>
    public static History Fit<T>(
        this Trainer<T> trainer, IReadOnlyList<T[][]> inputs, IReadOnlyList<T[]> targets, double validationSplit = 0, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        FitSplit(trainer, SequenceDataset<T>.FromArrays(inputs, targets), validationSplit, progress, cancellationToken);

    /// <summary>Trains on univariate series (one value per step) with one class each, as <see cref="Fit{T}(Trainer{T}, IReadOnlyList{T[][]}, IReadOnlyList{int}, double, IProgress{TrainingProgress}, CancellationToken)"/>.</summary>
    /// <param name="trainer">The trainer.</param>
    /// <param name="series">N series, each of L_n ≥ 1 values; lengths may differ. The network's input size must be 1.</param>
    /// <param name="classes">N class indices.</param>
    /// <param name="validationSplit">The share held out for validation, the last series; in [0, 1). Default 0.</param>
    /// <param name="progress">As in <see cref="Trainer{T}.Fit"/>.</param>
    /// <param name="cancellationToken">As in <see cref="Trainer{T}.Fit"/>.</param>
    /// <returns>The <see cref="History"/>.</returns>
    /// <typeparam name="T">The element type.</typeparam>
    /// <exception cref="ArgumentException">The counts differ, a series is empty or not finite, the split leaves a part empty, or the data does not suit the network.</exception>
    public static History Fit<T>(
        this Trainer<T> trainer, IReadOnlyList<T[]> series, IReadOnlyList<int> classes, double validationSplit = 0, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        FitSplit(trainer, SequenceDataset<T>.FromSeries(series, classes), validationSplit, progress, cancellationToken);

    /// <summary>Trains on univariate series with one scalar target each (a forecaster of one value), as <see cref="Fit{T}(Trainer{T}, IReadOnlyList{T[][]}, IReadOnlyList{int}, double, IProgress{TrainingProgress}, CancellationToken)"/>.</summary>
    /// <param name="trainer">The trainer.</param>
    /// <param name="series">N series, each of L_n ≥ 1 values. The network's input and output sizes must be 1.</param>
    /// <param name="targets">N targets.</param>
    /// <param name="validationSplit">The share held out for validation, the last series; in [0, 1). Default 0.</param>
    /// <param name="progress">As in <see cref="Trainer{T}.Fit"/>.</param>
    /// <param name="cancellationToken">As in <see cref="Trainer{T}.Fit"/>.</param>
    /// <returns>The <see cref="History"/>.</returns>
    /// <typeparam name="T">The element type.</typeparam>
    /// <exception cref="ArgumentException">The counts differ, a series or target is not finite, the split leaves a part empty, or the data does not suit the network.</exception>
    public static History Fit<T>(
        this Trainer<T> trainer, IReadOnlyList<T[]> series, IReadOnlyList<T> targets, double validationSplit = 0, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        FitSplit(trainer, SequenceDataset<T>.FromSeries(series, targets), validationSplit, progress, cancellationToken);

    /// <summary>The loss and metrics on sequences of steps × features with one class each, as <see cref="Trainer{T}.Evaluate"/>.</summary>
    /// <param name="trainer">The trainer.</param>
    /// <param name="inputs">N sequences, each L_n ≥ 1 rows of I features.</param>
    /// <param name="classes">N class indices.</param>
    /// <returns>The loss and metrics.</returns>
    /// <typeparam name="T">The element type.</typeparam>
    /// <exception cref="ArgumentException">The counts differ, a sequence is empty, ragged or not finite, or the data does not suit the network.</exception>
    public static EvaluationResult Evaluate<T>(this Trainer<T> trainer, IReadOnlyList<T[][]> inputs, IReadOnlyList<int> classes)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        Checked(trainer).Evaluate(SequenceDataset<T>.FromArrays(inputs, classes));

    /// <summary>The loss and metrics on sequences of steps × features with one target vector each, as <see cref="Trainer{T}.Evaluate"/>.</summary>
    /// <param name="trainer">The trainer.</param>
    /// <param name="inputs">N sequences, each L_n ≥ 1 rows of I features.</param>
    /// <param name="targets">N target vectors.</param>
    /// <returns>The loss and metrics.</returns>
    /// <typeparam name="T">The element type.</typeparam>
    /// <exception cref="ArgumentException">The counts differ, a sequence or target is empty, ragged or not finite, or the data does not suit the network.</exception>
    public static EvaluationResult Evaluate<T>(this Trainer<T> trainer, IReadOnlyList<T[][]> inputs, IReadOnlyList<T[]> targets)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        Checked(trainer).Evaluate(SequenceDataset<T>.FromArrays(inputs, targets));

    /// <summary>The loss and metrics on univariate series with one class each, as <see cref="Trainer{T}.Evaluate"/>.</summary>
    /// <param name="trainer">The trainer.</param>
    /// <param name="series">N series, each of L_n ≥ 1 values.</param>
    /// <param name="classes">N class indices.</param>
    /// <returns>The loss and metrics.</returns>
    /// <typeparam name="T">The element type.</typeparam>
    /// <exception cref="ArgumentException">The counts differ, a series is empty or not finite, or the data does not suit the network.</exception>
    public static EvaluationResult Evaluate<T>(this Trainer<T> trainer, IReadOnlyList<T[]> series, IReadOnlyList<int> classes)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        Checked(trainer).Evaluate(SequenceDataset<T>.FromSeries(series, classes));

    /// <summary>The loss and metrics on univariate series with one scalar target each, as <see cref="Trainer{T}.Evaluate"/>.</summary>
    /// <param name="trainer">The trainer.</param>
    /// <param name="series">N series, each of L_n ≥ 1 values.</param>
    /// <param name="targets">N targets.</param>
    /// <returns>The loss and metrics.</returns>
    /// <typeparam name="T">The element type.</typeparam>
    /// <exception cref="ArgumentException">The counts differ, a series or target is not finite, or the data does not suit the network.</exception>
    public static EvaluationResult Evaluate<T>(this Trainer<T> trainer, IReadOnlyList<T[]> series, IReadOnlyList<T> targets)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
        Checked(trainer).Evaluate(SequenceDataset<T>.FromSeries(series, targets));

    private static Trainer<T> Checked<T>(Trainer<T> trainer)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => trainer ?? throw new ArgumentNullException(nameof(trainer));

    private static History FitSplit<T>(
        Trainer<T> trainer, SequenceDataset<T> data, double validationSplit, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(trainer);
        if (!(validationSplit >= 0 && validationSplit < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(validationSplit), validationSplit, $"validationSplit must be in [0, 1), but was {validationSplit}.");
        }

        if (validationSplit == 0)
        {
            return trainer.Fit(data, null, progress, cancellationToken);
        }

        int training = (int)Math.Round((1 - validationSplit) * data.Count, MidpointRounding.AwayFromZero);
        if (training < 1 || training >= data.Count)
        {
            throw new ArgumentOutOfRangeException(
                nameof(validationSplit), validationSplit, $"validationSplit {validationSplit} of {data.Count} sequences leaves {training} for training and {data.Count - training} for validation; both need at least one.");
        }

        return trainer.Fit(data.Take(training), data.Skip(training), progress, cancellationToken);
    }
}
