using System.Numerics;

namespace RnnCore.Training;

/// <summary>
/// Per-feature scaling fitted on a training set, as scikit-learn's <c>StandardScaler</c> and <c>MinMaxScaler</c>: each
/// input feature i maps to x' = (x − offset_i) / scale_i, and so does each feature of value targets (unless told not
/// to), with offset and scale measured on the training set only, so that validation and test data are scaled with
/// figures they did not influence. <see cref="Transform(SequenceDataset{T})"/> scales datasets and
/// <see cref="TransformInputs(T[][])"/> new inputs; <see cref="InverseTransformOutputs(T[])"/> maps a model's
/// predictions back to the targets' units; <see cref="InOriginalUnits"/> reports a metric in those units.
/// </summary>
/// <remarks>
/// Statistics are computed in double over every step of every training sequence (inputs) and every target of every
/// training sequence (value targets). A feature with no spread (a constant) gets scale 1, so it is shifted but not
/// blown up, as scikit-learn does. Class targets are never scaled. Immutable, so one scaler may serve several threads.
/// </remarks>
/// <typeparam name="T">The element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Scaler<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly double[] _inputOffsets;
    private readonly double[] _inputScales;
    private readonly double[]? _targetOffsets;
    private readonly double[]? _targetScales;

    private Scaler(double[] inputOffsets, double[] inputScales, double[]? targetOffsets, double[]? targetScales)
    {
        _inputOffsets = inputOffsets;
        _inputScales = inputScales;
        _targetOffsets = targetOffsets;
        _targetScales = targetScales;
    }

    /// <summary>The offset of each input feature (its training mean, or what maps its minimum to the range's low end).</summary>
    public IReadOnlyList<double> InputOffsets => _inputOffsets;

    /// <summary>The scale of each input feature (its training standard deviation, or its range over the target range's width); positive.</summary>
    public IReadOnlyList<double> InputScales => _inputScales;

    /// <summary>The offset of each value-target feature, or null when targets are not scaled (class targets, or <c>scaleTargets: false</c>).</summary>
    public IReadOnlyList<double>? TargetOffsets => _targetOffsets;

    /// <summary>The scale of each value-target feature, or null when targets are not scaled.</summary>
    public IReadOnlyList<double>? TargetScales => _targetScales;

    /// <summary>Whether value targets are scaled (and predictions can be mapped back with <see cref="InverseTransformOutputs(T[])"/>).</summary>
    public bool ScalesTargets => _targetScales is not null;

    /// <summary>
    /// Standardization: each feature to zero mean and unit variance over the training set, x' = (x − μ) / σ with σ the
    /// population standard deviation (as scikit-learn's <c>StandardScaler</c> and <c>numpy.std</c>).
    /// </summary>
    /// <param name="training">The training set the figures are measured on.</param>
    /// <param name="scaleTargets">Also scale value targets (for a regression with an identity output); false leaves them
    /// as they are (e.g. 0/1 targets of a sigmoid output). Ignored for class targets. Default true.</param>
    /// <returns>The fitted scaler.</returns>
    public static Scaler<T> Standardize(SequenceDataset<T> training, bool scaleTargets = true)
    {
        ArgumentNullException.ThrowIfNull(training);
        (double[] inputMeans, double[] inputDeviations) = MeanAndDeviation(InputColumns(training), training.InputSize);
        if (!ScalesTargetsOf(training, scaleTargets))
        {
            return new Scaler<T>(inputMeans, inputDeviations, null, null);
        }

        (double[] targetMeans, double[] targetDeviations) = MeanAndDeviation(TargetColumns(training), training.TargetSize);
        return new Scaler<T>(inputMeans, inputDeviations, targetMeans, targetDeviations);
    }

    /// <summary>
    /// Min-max scaling: each feature's training minimum to <paramref name="low"/> and maximum to <paramref name="high"/>,
    /// x' = low + (x − min)(high − low) / (max − min) (scikit-learn's <c>MinMaxScaler</c> with
    /// <c>feature_range=(low, high)</c>). Later data may fall outside [low, high].
    /// </summary>
    /// <param name="training">The training set the figures are measured on.</param>
    /// <param name="low">The value the minimum maps to. Default 0.</param>
    /// <param name="high">The value the maximum maps to; above <paramref name="low"/>. Default 1.</param>
    /// <param name="scaleTargets">Also scale value targets; see <see cref="Standardize"/>. Default true.</param>
    /// <returns>The fitted scaler.</returns>
    /// <exception cref="ArgumentOutOfRangeException">low ≥ high, or either is not finite.</exception>
    public static Scaler<T> MinMax(SequenceDataset<T> training, double low = 0, double high = 1, bool scaleTargets = true)
    {
        ArgumentNullException.ThrowIfNull(training);
        if (!(double.IsFinite(low) && double.IsFinite(high) && low < high))
        {
            throw new ArgumentOutOfRangeException(nameof(high), high, $"the range must be finite with low < high, but was [{low}, {high}].");
        }

        (double[] inputOffsets, double[] inputScales) = Range(InputColumns(training), training.InputSize, low, high);
        if (!ScalesTargetsOf(training, scaleTargets))
        {
            return new Scaler<T>(inputOffsets, inputScales, null, null);
        }

        (double[] targetOffsets, double[] targetScales) = Range(TargetColumns(training), training.TargetSize, low, high);
        return new Scaler<T>(inputOffsets, inputScales, targetOffsets, targetScales);
    }

    /// <summary>A dataset with its inputs scaled, and its value targets when <see cref="ScalesTargets"/>; class targets are kept.</summary>
    /// <param name="data">Any dataset with the training set's input size (and target size, when targets are scaled).</param>
    /// <returns>A new dataset of new sequences, in the same order.</returns>
    /// <exception cref="ArgumentException">The sizes differ from the training set's, targets are scaled but <paramref name="data"/> has class targets, or a scaled value is not finite.</exception>
    public SequenceDataset<T> Transform(SequenceDataset<T> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        RequireSizes(data.InputSize, data.IsClasses, data.TargetSize, nameof(data));
        var scaled = new Sequence<T>[data.Count];
        for (int s = 0; s < scaled.Length; s++)
        {
            scaled[s] = Scale(data[s], nameof(data), s);
        }

        return new SequenceDataset<T>(scaled);
    }

    /// <summary>One sequence with its inputs (and value targets, when <see cref="ScalesTargets"/>) scaled.</summary>
    /// <param name="sequence">A sequence with the training set's sizes.</param>
    /// <returns>A new sequence.</returns>
    /// <exception cref="ArgumentException">The sizes differ from the training set's, or a scaled value is not finite.</exception>
    public Sequence<T> Transform(Sequence<T> sequence)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        RequireSizes(sequence.InputSize, sequence.IsClasses, sequence.TargetSize, nameof(sequence));
        return Scale(sequence, nameof(sequence), -1);
    }

    /// <summary>New inputs, one sequence of steps × features, scaled for prediction (e.g. before <c>PredictLast</c>).</summary>
    /// <param name="steps">L rows of <see cref="InputScales"/>.Count features.</param>
    /// <returns>The scaled rows (new arrays).</returns>
    /// <exception cref="ArgumentException">A row of another length, or a scaled value that is not finite.</exception>
    public T[][] TransformInputs(T[][] steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        var scaled = new T[steps.Length][];
        for (int t = 0; t < steps.Length; t++)
        {
            T[] row = steps[t] ?? throw new ArgumentNullException(nameof(steps), $"steps[{t}] is null.");
            if (row.Length != _inputScales.Length)
            {
                throw new ArgumentException($"steps[{t}] has {row.Length} features but the scaler was fitted on {_inputScales.Length}.", nameof(steps));
            }

            scaled[t] = new T[row.Length];
            Forward(row, _inputOffsets, _inputScales, scaled[t], $"steps[{t}]", nameof(steps));
        }

        return scaled;
    }

    /// <summary>A new univariate series (one value per step) scaled for prediction; the scaler must have one input feature.</summary>
    /// <param name="series">The values x_1..x_L.</param>
    /// <returns>The scaled values (a new array).</returns>
    /// <exception cref="ArgumentException">The scaler has more than one input feature, or a scaled value is not finite.</exception>
    public T[] TransformInputs(T[] series)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (_inputScales.Length != 1)
        {
            throw new ArgumentException($"series is univariate but the scaler was fitted on {_inputScales.Length} input features; pass steps × features.", nameof(series));
        }

        var scaled = new T[series.Length];
        double offset = _inputOffsets[0], scale = _inputScales[0];
        for (int t = 0; t < series.Length; t++)
        {
            scaled[t] = ToFinite((double.CreateTruncating(series[t]) - offset) / scale, $"series[{t}]", nameof(series));
        }

        return scaled;
    }

    /// <summary>One prediction mapped back to the targets' units: y_k · scale_k + offset_k for each output k.</summary>
    /// <param name="output">An output vector of the model trained on scaled targets (length <see cref="TargetScales"/>.Count).</param>
    /// <returns>The output in original units (a new array).</returns>
    /// <exception cref="InvalidOperationException">The scaler does not scale targets.</exception>
    /// <exception cref="ArgumentException">The output's length is not the target size.</exception>
    public T[] InverseTransformOutputs(T[] output)
    {
        ArgumentNullException.ThrowIfNull(output);
        (double[] offsets, double[] scales) = TargetFigures();
        return Inverse(output, offsets, scales, nameof(output), nameof(output));
    }

    /// <summary>
    /// Many predictions mapped back to the targets' units, row by row: the outputs of <c>PredictLast</c> over many
    /// sequences, or of <c>PredictEveryStep</c> over one.
    /// </summary>
    /// <param name="outputs">Rows of length <see cref="TargetScales"/>.Count.</param>
    /// <returns>The rows in original units (new arrays).</returns>
    /// <exception cref="InvalidOperationException">The scaler does not scale targets.</exception>
    /// <exception cref="ArgumentException">A row's length is not the target size.</exception>
    public T[][] InverseTransformOutputs(T[][] outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        (double[] offsets, double[] scales) = TargetFigures();
        var original = new T[outputs.Length][];
        for (int n = 0; n < outputs.Length; n++)
        {
            original[n] = Inverse(outputs[n] ?? throw new ArgumentNullException(nameof(outputs), $"outputs[{n}] is null."), offsets, scales, $"outputs[{n}]", nameof(outputs));
        }

        return original;
    }

    /// <summary>
    /// <paramref name="metric"/> measured on outputs and targets mapped back to the targets' units, for a model trained on
    /// targets this scaler scaled: list it in <see cref="TrainerOptions.Metrics"/> (or use it as
    /// <see cref="TrainerOptions.Monitor"/>), and the validation figures after every epoch and
    /// <see cref="Trainer{T}.Evaluate"/> report it under the name <c>{metric.Name}_original</c>, e.g.
    /// <c>rmse_original</c>. The loss and the built-in MAE and RMSE stay in scaled units.
    /// </summary>
    /// <param name="metric">Any metric of value outputs, e.g. <see cref="Metric.RootMeanSquaredError"/>.</param>
    /// <returns>The metric in original units.</returns>
    /// <exception cref="InvalidOperationException">The scaler does not scale targets.</exception>
    public Metric InOriginalUnits(Metric metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        (double[] offsets, double[] scales) = TargetFigures();
        return new OriginalUnitsMetric(metric, offsets, scales);
    }

    private static bool ScalesTargetsOf(SequenceDataset<T> training, bool scaleTargets) => scaleTargets && !training.IsClasses;

    /// <summary>Each input step of each sequence, as a run of I values.</summary>
    private static IEnumerable<ReadOnlyMemory<T>> InputColumns(SequenceDataset<T> data) =>
        data.SelectMany(s => Enumerable.Range(0, s.Length).Select(t => new ReadOnlyMemory<T>(s.Inputs, t * s.InputSize, s.InputSize)));

    /// <summary>Each value target of each sequence, as a run of O values.</summary>
    private static IEnumerable<ReadOnlyMemory<T>> TargetColumns(SequenceDataset<T> data) =>
        data.SelectMany(s => Enumerable.Range(0, s.TargetSteps).Select(t => new ReadOnlyMemory<T>(s.Values!, t * s.TargetSize, s.TargetSize)));

    /// <summary>Per feature: the mean, and the population standard deviation (1 where it is 0), in two passes.</summary>
    private static (double[] Means, double[] Deviations) MeanAndDeviation(IEnumerable<ReadOnlyMemory<T>> columns, int features)
    {
        var sums = new double[features];
        long count = 0;
        foreach (ReadOnlyMemory<T> column in columns)
        {
            ReadOnlySpan<T> x = column.Span;
            for (int i = 0; i < features; i++)
            {
                sums[i] += double.CreateTruncating(x[i]);
            }

            count++;
        }

        double[] means = [.. sums.Select(sum => sum / count)];
        var squares = new double[features];
        foreach (ReadOnlyMemory<T> column in columns)
        {
            ReadOnlySpan<T> x = column.Span;
            for (int i = 0; i < features; i++)
            {
                double d = double.CreateTruncating(x[i]) - means[i];
                squares[i] += d * d;
            }
        }

        return (means, [.. squares.Select(square => NonZero(Math.Sqrt(square / count)))]);
    }

    /// <summary>Per feature: offset and scale that map [min, max] to [low, high] (scale (max − min)/(high − low); 1 where max = min).</summary>
    private static (double[] Offsets, double[] Scales) Range(IEnumerable<ReadOnlyMemory<T>> columns, int features, double low, double high)
    {
        double[] min = [.. Enumerable.Repeat(double.PositiveInfinity, features)];
        double[] max = [.. Enumerable.Repeat(double.NegativeInfinity, features)];
        foreach (ReadOnlyMemory<T> column in columns)
        {
            ReadOnlySpan<T> x = column.Span;
            for (int i = 0; i < features; i++)
            {
                double v = double.CreateTruncating(x[i]);
                min[i] = Math.Min(min[i], v);
                max[i] = Math.Max(max[i], v);
            }
        }

        // x' = low + (x − min) / scale with scale = (max − min) / (high − low), i.e. x' = (x − offset) / scale with
        // offset = min − low · scale.
        double[] scales = [.. Enumerable.Range(0, features).Select(i => NonZero((max[i] - min[i]) / (high - low)))];
        double[] offsets = [.. Enumerable.Range(0, features).Select(i => min[i] - (low * scales[i]))];
        return (offsets, scales);
    }

    private static double NonZero(double scale) => scale > 0 ? scale : 1;

    private void RequireSizes(int inputSize, bool classes, int targetSize, string paramName)
    {
        if (inputSize != _inputScales.Length)
        {
            throw new ArgumentException($"{paramName} has input size {inputSize} but the scaler was fitted on {_inputScales.Length} input features.", paramName);
        }

        if (_targetScales is not null && (classes || targetSize != _targetScales.Length))
        {
            throw new ArgumentException(
                $"{paramName} has {(classes ? "class targets" : $"value targets of size {targetSize}")} but the scaler scales value targets of size {_targetScales.Length}.",
                paramName);
        }
    }

    private Sequence<T> Scale(Sequence<T> sequence, string paramName, int index)
    {
        string label = index < 0 ? paramName : $"{paramName}[{index}]";
        int i = sequence.InputSize;
        var inputs = new T[sequence.Inputs.Length];
        for (int t = 0; t < sequence.Length; t++)
        {
            Forward(sequence.Inputs.AsSpan(t * i, i), _inputOffsets, _inputScales, inputs.AsSpan(t * i, i), $"{label} step {t}", paramName);
        }

        T[]? values = sequence.Values;
        if (_targetOffsets is not null && _targetScales is not null && sequence.Values is T[] source)
        {
            int o = sequence.TargetSize;
            values = new T[source.Length];
            for (int t = 0; t < sequence.TargetSteps; t++)
            {
                Forward(source.AsSpan(t * o, o), _targetOffsets, _targetScales, values.AsSpan(t * o, o), $"{label} target {t}", paramName);
            }
        }

        return sequence.WithData(inputs, values);
    }

    private static void Forward(ReadOnlySpan<T> x, double[] offsets, double[] scales, Span<T> scaled, string label, string paramName)
    {
        for (int k = 0; k < x.Length; k++)
        {
            scaled[k] = ToFinite((double.CreateTruncating(x[k]) - offsets[k]) / scales[k], $"{label}, feature {k}", paramName);
        }
    }

    private static T ToFinite(double value, string label, string paramName)
    {
        T scaled = T.CreateTruncating(value);
        return T.IsFinite(scaled)
            ? scaled
            : throw new ArgumentException($"{label} scales to {value}, which {typeof(T).Name} cannot hold; every scaled value must be finite.", paramName);
    }

    private (double[] Offsets, double[] Scales) TargetFigures() =>
        _targetOffsets is not null && _targetScales is not null
            ? (_targetOffsets, _targetScales)
            : throw new InvalidOperationException("this scaler does not scale targets (it was fitted on class targets, or with scaleTargets: false), so there is nothing to map back.");

    private static T[] Inverse(T[] output, double[] offsets, double[] scales, string label, string paramName)
    {
        if (output.Length != scales.Length)
        {
            throw new ArgumentException($"{label} has {output.Length} values but the scaled targets have {scales.Length}.", paramName);
        }

        var original = new T[output.Length];
        for (int k = 0; k < output.Length; k++)
        {
            original[k] = T.CreateTruncating((double.CreateTruncating(output[k]) * scales[k]) + offsets[k]);
        }

        return original;
    }

    /// <summary>A metric of outputs and targets mapped back by y · scale + offset before the inner metric sees them.</summary>
    private sealed class OriginalUnitsMetric(Metric inner, double[] offsets, double[] scales) : Metric(inner.Name + "_original", inner.Goal)
    {
        public override MetricAccumulator Start(OutputActivation outputActivation, int outputSize)
        {
            if (outputActivation == OutputActivation.Softmax || outputSize != scales.Length)
            {
                throw new ArgumentException(
                    $"{Name} maps {scales.Length} value outputs back to original units, but the output is a {outputActivation} of size {outputSize}.",
                    nameof(outputSize));
            }

            return new Accumulator(inner.Start(outputActivation, outputSize), offsets, scales);
        }

        private sealed class Accumulator(MetricAccumulator inner, double[] offsets, double[] scales) : MetricAccumulator
        {
            private readonly double[] _output = new double[scales.Length];
            private readonly double[] _target = new double[scales.Length];

            public override double Result => inner.Result;

            public override void Add(ReadOnlySpan<double> output, ReadOnlySpan<double> target)
            {
                for (int k = 0; k < _output.Length; k++)
                {
                    _output[k] = (output[k] * scales[k]) + offsets[k];
                    _target[k] = (target[k] * scales[k]) + offsets[k];
                }

                inner.Add(_output, _target);
            }
        }
    }
}
