namespace RnnCore.Samples.AddingProblem;

/// <summary>The command line's settings, with the defaults of the no-argument run.</summary>
public sealed record AddingOptions
{
    /// <summary>T: the sequence lengths (the distance the first marked value must be carried), one experiment each.</summary>
    public IReadOnlyList<int> Steps { get; init; } = [100, 200];

    public int HiddenSize { get; init; } = 64;

    public int BatchSize { get; init; } = 32;

    /// <summary>Updates for every model, or null (the default) for each model's own (<see cref="AddingModel.Updates"/>).</summary>
    public int? Updates { get; init; }

    /// <summary>Adam's step size for every model, or null (the default) for each model's own (<see cref="AddingModel.LearningRate"/>).</summary>
    public double? LearningRate { get; init; }

    /// <summary>The keys of the models to train (tanh, irnn, lstm, gru); default all four.</summary>
    public IReadOnlyList<string> Models { get; init; } = AddingModels.All.Select(m => m.Key).ToArray();

    /// <summary>Maximum global gradient norm; 0 turns clipping off.</summary>
    public double Clip { get; init; } = 1;

    /// <summary>Held-out sequences the mean squared error is measured on.</summary>
    public int TestSize { get; init; } = 1000;

    /// <summary>Measures the held-out error every this many updates.</summary>
    public int EvaluateEvery { get; init; } = 100;

    public int Seed { get; init; } = 7;

    public string OutputFolder { get; init; } = "out-adding";

    public void Validate()
    {
        if (Steps.Count == 0 || Steps.Any(t => t < 2))
        {
            throw new SampleException($"--steps must list lengths of at least 2 (one marked value in each half), but was {string.Join(",", Steps)}.");
        }

        Positive(HiddenSize, "--hidden-size");
        Positive(BatchSize, "--batch-size");
        if (Updates is int updates)
        {
            Positive(updates, "--updates");
        }

        Positive(TestSize, "--test-size");
        Positive(EvaluateEvery, "--evaluate-every");
        if (LearningRate is double lr && (!(lr > 0) || double.IsInfinity(lr)))
        {
            throw new SampleException($"--learning-rate must be a positive number, but was {LearningRate}.");
        }

        if (!(Clip >= 0) || double.IsInfinity(Clip))
        {
            throw new SampleException($"--clip must be 0 (off) or a positive number, but was {Clip}.");
        }

        string[] known = AddingModels.All.Select(m => m.Key).ToArray();
        if (Models.Count == 0 || Models.Any(m => !known.Contains(m)))
        {
            throw new SampleException($"--models must list some of {string.Join(", ", known)}, separated by commas, but was '{string.Join(",", Models)}'.");
        }

        if (string.IsNullOrWhiteSpace(OutputFolder))
        {
            throw new SampleException("--output must name a folder.");
        }
    }

    /// <summary>"100,200" to [100, 200]; anything that is not a list of whole numbers is a one-line error naming --steps.</summary>
    public static IReadOnlyList<int> ParseSteps(string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        var steps = new List<int>();
        foreach (string part in parts)
        {
            if (!int.TryParse(part, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int t))
            {
                throw new SampleException($"--steps must be whole numbers separated by commas (e.g. 100,200), but was '{text}'.");
            }

            steps.Add(t);
        }

        return steps;
    }

    private static void Positive(int value, string name)
    {
        if (value <= 0)
        {
            throw new SampleException($"{name} must be a positive whole number, but was {value}.");
        }
    }
}
