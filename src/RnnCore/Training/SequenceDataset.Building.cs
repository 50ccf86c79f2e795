using RnnCore.Internal;

namespace RnnCore.Training;

/// <content>
/// Datasets from plain arrays, windows over a time series, and the usual reshaping: splitting at random or in time
/// order, taking, skipping and shuffling. Every result shares the (immutable) sequences; none copies data.
/// </content>
public sealed partial class SequenceDataset<T>
{
    /// <summary>Sequences of steps × features, one class each (a many-to-one classifier's data).</summary>
    /// <param name="inputs">N sequences, each L_n ≥ 1 rows of the same length I; lengths may differ.</param>
    /// <param name="classes">N class indices, one per sequence; each ≥ 0.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="ArgumentException">The counts differ, or a sequence is empty, ragged or non-finite (the message names it).</exception>
    public static SequenceDataset<T> FromArrays(IReadOnlyList<T[][]> inputs, IReadOnlyList<int> classes)
    {
        RequireSameCount(inputs, nameof(inputs), classes?.Count, nameof(classes));
        RequireClasses(classes!);
        return new SequenceDataset<T>(inputs.Select((x, n) => Named(() => Sequence<T>.WithClass(x, classes![n]), nameof(inputs), nameof(classes), n)));
    }

    /// <summary>Sequences of steps × features, one target vector each (a many-to-one regressor's data).</summary>
    /// <param name="inputs">N sequences, each L_n ≥ 1 rows of the same length I.</param>
    /// <param name="targets">N target vectors of the same length O ≥ 1.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="ArgumentException">The counts differ, or a sequence or target is empty, ragged or non-finite.</exception>
    public static SequenceDataset<T> FromArrays(IReadOnlyList<T[][]> inputs, IReadOnlyList<T[]> targets)
    {
        RequireSameCount(inputs, nameof(inputs), targets?.Count, nameof(targets));
        return new SequenceDataset<T>(inputs.Select((x, n) => Named(() => Sequence<T>.WithValue(x, targets![n]), nameof(inputs), nameof(targets), n)));
    }

    /// <summary>Univariate series (one value per step), one class each.</summary>
    /// <param name="series">N series, each of L_n ≥ 1 values; lengths may differ.</param>
    /// <param name="classes">N class indices; each ≥ 0.</param>
    /// <returns>The dataset, with input size 1.</returns>
    /// <exception cref="ArgumentException">The counts differ, or a series is empty or non-finite.</exception>
    public static SequenceDataset<T> FromSeries(IReadOnlyList<T[]> series, IReadOnlyList<int> classes)
    {
        RequireSameCount(series, nameof(series), classes?.Count, nameof(classes));
        RequireClasses(classes!);
        return new SequenceDataset<T>(series.Select((x, n) => Named(() => Sequence<T>.WithClass(x, classes![n]), nameof(series), nameof(classes), n)));
    }

    /// <summary>Univariate series (one value per step), one scalar target each.</summary>
    /// <param name="series">N series, each of L_n ≥ 1 values.</param>
    /// <param name="targets">N targets.</param>
    /// <returns>The dataset, with input size 1 and target size 1.</returns>
    /// <exception cref="ArgumentException">The counts differ, or a series or target is empty or non-finite.</exception>
    public static SequenceDataset<T> FromSeries(IReadOnlyList<T[]> series, IReadOnlyList<T> targets)
    {
        RequireSameCount(series, nameof(series), targets?.Count, nameof(targets));
        return new SequenceDataset<T>(series.Select((x, n) => Named(() => Sequence<T>.WithValue(x, targets![n]), nameof(series), nameof(targets), n)));
    }

    /// <summary>
    /// Sliding windows over a univariate time series, for forecasting: window k is the <paramref name="window"/> values
    /// starting at k·<paramref name="stride"/>, and its target is the <paramref name="horizon"/> values that follow it
    /// (one target vector, scored at the window's last step: <see cref="Trainer{T}"/> infers <see cref="LossPlacement.LastStep"/>
    /// from it; the output has size <paramref name="horizon"/>). Every window fits with its target: there are
    /// ⌊(n − window − horizon) / stride⌋ + 1 of them, in time order.
    /// </summary>
    /// <param name="series">The series x_0..x_{n−1}; finite.</param>
    /// <param name="window">Values per input window; positive.</param>
    /// <param name="horizon">How many following values the target holds; positive. Default 1 (the next value).</param>
    /// <param name="stride">The shift between consecutive windows; positive. Default 1.</param>
    /// <returns>The windows, with input size 1 and target size <paramref name="horizon"/>.</returns>
    /// <exception cref="ArgumentException">A size is not positive, the series is shorter than window + horizon, or a value is not finite.</exception>
    /// <remarks>
    /// Consecutive windows overlap when <paramref name="stride"/> &lt; <paramref name="window"/> + <paramref name="horizon"/>.
    /// Split them with <see cref="SplitChronologically"/>, whose remarks say what its gap does for such windows: no
    /// gap is needed for a horizon of 1; a longer horizon needs ⌊(horizon − 1) / stride⌋ windows of gap to keep the
    /// validation targets out of the training targets.
    /// </remarks>
    public static SequenceDataset<T> Windows(T[] series, int window, int horizon = 1, int stride = 1)
    {
        ArgumentNullException.ThrowIfNull(series);
        Guard.Positive(window, nameof(window));
        Guard.Positive(horizon, nameof(horizon));
        Guard.Positive(stride, nameof(stride));
        if ((long)window + horizon > series.Length)
        {
            throw new ArgumentException(
                $"series has {series.Length} values but one window needs window + horizon = {window} + {horizon} = {(long)window + horizon}.", nameof(series));
        }

        int bad = Guard.IndexOfNonFinite<T>(series);
        if (bad >= 0)
        {
            throw new ArgumentException($"series[{bad}] is {series[bad]}; values must be finite.", nameof(series));
        }

        int count = ((series.Length - window - horizon) / stride) + 1;
        var windows = new Sequence<T>[count];
        for (int k = 0; k < count; k++)
        {
            int start = k * stride;
            windows[k] = Sequence<T>.WithValue(series[start..(start + window)], series[(start + window)..(start + window + horizon)]);
        }

        return new SequenceDataset<T>(windows);
    }

    /// <summary>
    /// Sliding windows over a multivariate time series (steps × features), as <see cref="Windows(T[], int, int, int)"/>:
    /// window k is the <paramref name="window"/> rows starting at row k·<paramref name="stride"/>, and its target is the
    /// <paramref name="horizon"/> rows that follow it: of feature <paramref name="targetFeature"/> only (a target of
    /// length horizon), or of every feature when it is null (length horizon · F, the first following row's F values
    /// first).
    /// </summary>
    /// <param name="series">n rows of the same length F ≥ 1; finite.</param>
    /// <param name="window">Rows per input window; positive.</param>
    /// <param name="horizon">How many following rows the target holds; positive. Default 1.</param>
    /// <param name="stride">The shift between consecutive windows; positive. Default 1.</param>
    /// <param name="targetFeature">The feature to forecast (0-based), or null for all of them. Default null.</param>
    /// <returns>The windows, with input size F.</returns>
    /// <exception cref="ArgumentException">A size is not positive, the series is shorter than window + horizon, ragged or not finite, or the target feature is out of range.</exception>
    public static SequenceDataset<T> Windows(T[][] series, int window, int horizon = 1, int stride = 1, int? targetFeature = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        Guard.Positive(window, nameof(window));
        Guard.Positive(horizon, nameof(horizon));
        Guard.Positive(stride, nameof(stride));
        if ((long)window + horizon > series.Length)
        {
            throw new ArgumentException(
                $"series has {series.Length} rows but one window needs window + horizon = {window} + {horizon} = {(long)window + horizon}.", nameof(series));
        }

        // Validates the rows once (ragged, non-finite) by building the whole series as one sequence.
        Sequence<T> all = Named(() => Sequence<T>.WithClass(series, 0), nameof(series), nameof(series), -1);
        int features = all.InputSize;
        if (targetFeature is int f && (f < 0 || f >= features))
        {
            throw new ArgumentOutOfRangeException(nameof(targetFeature), f, $"targetFeature must be in [0, {features - 1}] (the series has {features} features), but was {f}.");
        }

        int count = ((series.Length - window - horizon) / stride) + 1;
        var windows = new Sequence<T>[count];
        for (int k = 0; k < count; k++)
        {
            int start = k * stride;
            T[] target = targetFeature is int feature
                ? Enumerable.Range(start + window, horizon).Select(t => series[t][feature]).ToArray()
                : series[(start + window)..(start + window + horizon)].SelectMany(row => row).ToArray();
            windows[k] = Sequence<T>.WithValue(series[start..(start + window)], target);
        }

        return new SequenceDataset<T>(windows);
    }

    /// <summary>
    /// Splits at random: the sequences in the order of a seeded shuffle (RnnCore's xoshiro256**, the same on every
    /// machine), the first round(fraction · N) of them in <c>First</c> and the rest in <c>Second</c>.
    /// </summary>
    /// <param name="fraction">The share of <c>First</c>, in (0, 1); both parts must get at least one sequence.</param>
    /// <param name="seed">The shuffle's seed.</param>
    /// <returns>The two parts, e.g. <c>var (training, validation) = data.Split(0.8, seed: 1);</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The fraction is not in (0, 1), or leaves a part empty.</exception>
    public (SequenceDataset<T> First, SequenceDataset<T> Second) Split(double fraction, long seed)
    {
        int first = FirstCount(fraction);
        Sequence<T>[] shuffled = Shuffled(seed);
        return (new SequenceDataset<T>(shuffled[..first]), new SequenceDataset<T>(shuffled[first..]));
    }

    /// <summary>
    /// Splits in order, for time series: the first round(fraction · N) sequences in <c>First</c>, then
    /// <paramref name="gap"/> sequences left out, then the rest in <c>Second</c>.
    /// </summary>
    /// <remarks>
    /// What the gap does for overlapping windows (<see cref="Windows(T[], int, int, int)"/>, window w, horizon h,
    /// stride s; window k reads x[k·s .. k·s + w − 1] and targets x[k·s + w .. k·s + w + h − 1]), with F windows in
    /// <c>First</c>:
    /// <list type="bullet">
    /// <item>A training input never holds a validation target, even with gap 0: the last training input is
    /// x[(F − 1)·s + w − 1] and the first validation target x[(F + gap)·s + w].</item>
    /// <item>With h &gt; 1, the last training windows' targets run into the first validation windows' targets (the
    /// model would be trained on values it is then scored on); a gap of ⌊(h − 1) / s⌋ windows keeps them apart. With
    /// h = 1, no gap is needed, and a larger one only drops data.</item>
    /// <item>A gap of ⌊(w + h − 1) / s⌋ windows leaves no value in both parts at all (the validation inputs then hold no
    /// value that was a training target), for a stricter test.</item>
    /// </list>
    /// </remarks>
    /// <param name="fraction">The share of <c>First</c>, in (0, 1).</param>
    /// <param name="gap">Sequences dropped between the parts; non-negative. Default 0.</param>
    /// <returns>The two parts, each in the original order.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The fraction is not in (0, 1), the gap is negative, or a part would be empty.</exception>
    public (SequenceDataset<T> First, SequenceDataset<T> Second) SplitChronologically(double fraction, int gap = 0)
    {
        int first = FirstCount(fraction);
        if (gap < 0 || first + (long)gap >= Count)
        {
            throw new ArgumentOutOfRangeException(
                nameof(gap), gap, $"gap must be non-negative and leave a second part: {Count} sequences, {first} in the first part, so gap must be in [0, {Count - first - 1}].");
        }

        return (new SequenceDataset<T>(_sequences[..first]), new SequenceDataset<T>(_sequences[(first + gap)..]));
    }

    /// <summary>The first <paramref name="count"/> sequences (all of them when there are fewer).</summary>
    /// <param name="count">How many; positive.</param>
    /// <returns>A dataset of the first sequences, in order.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The count is not positive.</exception>
    public SequenceDataset<T> Take(int count)
    {
        Guard.Positive(count, nameof(count));
        return new SequenceDataset<T>(_sequences[..Math.Min(count, Count)]);
    }

    /// <summary>The sequences after the first <paramref name="count"/>.</summary>
    /// <param name="count">How many to leave out; in [0, Count − 1], since a dataset is never empty.</param>
    /// <returns>A dataset of the remaining sequences, in order.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The count is negative or leaves nothing.</exception>
    public SequenceDataset<T> Skip(int count)
    {
        if (count < 0 || count >= Count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"count must be in [0, {Count - 1}] to leave at least one of the {Count} sequences.");
        }

        return new SequenceDataset<T>(_sequences[count..]);
    }

    /// <summary>The sequences in a seeded random order (Fisher-Yates with RnnCore's xoshiro256**, the same on every machine).</summary>
    /// <param name="seed">The seed.</param>
    /// <returns>A shuffled dataset.</returns>
    public SequenceDataset<T> Shuffle(long seed) => new(Shuffled(seed));

    private Sequence<T>[] Shuffled(long seed)
    {
        int[] order = Enumerable.Range(0, Count).ToArray();
        Trainer<T>.Shuffle(order, new SeededRandom(seed));
        return order.Select(i => _sequences[i]).ToArray();
    }

    private int FirstCount(double fraction)
    {
        if (!(fraction > 0 && fraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, $"fraction must be in (0, 1), but was {fraction}.");
        }

        int first = (int)Math.Round(fraction * Count, MidpointRounding.AwayFromZero);
        if (first < 1 || first >= Count)
        {
            throw new ArgumentOutOfRangeException(
                nameof(fraction), fraction, $"fraction {fraction} of {Count} sequences puts {first} in the first part; both parts need at least one.");
        }

        return first;
    }

    private static void RequireSameCount<TInput>(IReadOnlyList<TInput> inputs, string inputsName, int? targets, string targetsName)
    {
        ArgumentNullException.ThrowIfNull(inputs, inputsName);
        ArgumentNullException.ThrowIfNull(targets, targetsName);
        if (inputs.Count == 0)
        {
            throw new ArgumentException($"{inputsName} is empty; a dataset needs at least one sequence.", inputsName);
        }

        if (targets != inputs.Count)
        {
            throw new ArgumentException($"{targetsName} has {targets} entries but {inputsName} has {inputs.Count} sequences; give one target per sequence.", targetsName);
        }
    }

    private static void RequireClasses(IReadOnlyList<int> classes)
    {
        for (int n = 0; n < classes.Count; n++)
        {
            if (classes[n] < 0)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(classes), classes[n], $"classes[{n}] is {classes[n]}; classes count from 0, so each must be ≥ 0.");
            }
        }
    }

    /// <summary>
    /// Builds sequence <paramref name="index"/> (−1: the argument itself), naming it in the message of any refusal: as
    /// <paramref name="inputsName"/> when the sequence's own steps are refused, as <paramref name="targetsName"/> when its
    /// target is.
    /// </summary>
    private static Sequence<T> Named(Func<Sequence<T>> build, string inputsName, string targetsName, int index)
    {
        try
        {
            return build();
        }
        catch (ArgumentException e)
        {
            // Sequence's factories name their steps "steps" or "series", and their targets "target" or "classes".
            string paramName = e.ParamName is "steps" or "series" or null ? inputsName : targetsName;

            // The inner message without its " (Parameter 'x')" suffix, which names the factory's argument, not ours.
            string message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", string.Empty, StringComparison.Ordinal);
            throw new ArgumentException(index < 0 ? $"{paramName}: {message}" : $"{paramName}[{index}]: {message}", paramName, e);
        }
    }
}
