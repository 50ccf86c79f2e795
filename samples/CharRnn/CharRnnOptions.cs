using RnnCore.Models;
using RnnCore.Optimizers;

namespace RnnCore.Samples.CharRnn;

/// <summary>Everything the command line can set, with the defaults of the no-argument run (a few minutes on two cores).</summary>
public sealed record CharRnnOptions
{
    public static readonly string[] OptimizerNames = ["adam", "adagrad", "rmsprop", "sgd"];

    public static readonly string[] CellNames = ["rnn", "lstm", "gru"];

    /// <summary>The share of the text, at its end, held out for the validation loss (never trained on).</summary>
    public const double ValidationFraction = 0.1;

    public static string DefaultTextPath => Path.Combine(AppContext.BaseDirectory, "data", "tinyshakespeare-300k.txt");

    public string TextPath { get; init; } = DefaultTextPath;

    public int HiddenSize { get; init; } = 256;

    /// <summary>rnn (the vanilla tanh layer), lstm or gru.</summary>
    public string Cell { get; init; } = "rnn";

    /// <summary>L, stacked recurrent layers.</summary>
    public int Layers { get; init; } = 1;

    /// <summary>p, dropout on every layer's output but the last while training (PyTorch's dropout); needs L ≥ 2.</summary>
    public double Dropout { get; init; }

    /// <summary>True for the default network, the vanilla <see cref="RecurrentLayer{T}"/>, which has checkpoints.</summary>
    public bool IsVanillaLayer => Cell == "rnn" && Layers == 1;

    /// <summary>T: characters per truncated-BPTT chunk (the gradient reaches back this far).</summary>
    public int SequenceLength { get; init; } = 50;

    /// <summary>B: streams read in parallel, each through its own slice of the text.</summary>
    public int BatchSize { get; init; } = 32;

    public double LearningRate { get; init; } = 0.002;

    public string Optimizer { get; init; } = "adam";

    /// <summary>Maximum global gradient norm (PyTorch's clip_grad_norm_); 0 turns clipping off.</summary>
    public double Clip { get; init; } = 5;

    public int Epochs { get; init; } = 30;

    /// <summary>Stops after this many updates in this run (0: no limit); for smoke tests.</summary>
    public int MaxSteps { get; init; }

    public int Seed { get; init; } = 42;

    public double Temperature { get; init; } = 0.8;

    /// <summary>Samples only from the k most likely characters; 0 keeps them all.</summary>
    public int TopK { get; init; }

    /// <summary>Prints generated text every this many updates (0: only at the end).</summary>
    public int SampleEvery { get; init; } = 500;

    public int SampleLength { get; init; } = 200;

    public string OutputFolder { get; init; } = "out";

    /// <summary>A checkpoint written by an earlier run, to continue from.</summary>
    public string? Resume { get; init; }

    /// <summary>Checks every range that does not depend on the text; a bad value is a one-line <see cref="SampleException"/>.</summary>
    public void Validate()
    {
        Positive(HiddenSize, "--hidden-size");
        Positive(Layers, "--layers");
        if (!CellNames.Contains(Cell))
        {
            throw new SampleException($"--cell must be one of {string.Join(", ", CellNames)}, but was '{Cell}'.");
        }

        if (!(Dropout >= 0 && Dropout < 1))
        {
            throw new SampleException($"--dropout must be in [0, 1), but was {Dropout}.");
        }

        if (Dropout > 0 && Layers < 2)
        {
            throw new SampleException($"--dropout {Dropout} acts between stacked layers, so it needs --layers 2 or more, but --layers was {Layers}.");
        }

        Positive(SequenceLength, "--seq-length");
        Positive(BatchSize, "--batch-size");
        Positive(Epochs, "--epochs");
        Positive(SampleLength, "--sample-length");
        NonNegative(MaxSteps, "--max-steps");
        NonNegative(TopK, "--top-k");
        NonNegative(SampleEvery, "--sample-every");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
        {
            throw new SampleException($"--learning-rate must be a positive number, but was {LearningRate}.");
        }

        if (!(Temperature > 0) || double.IsInfinity(Temperature))
        {
            throw new SampleException($"--temperature must be a positive number, but was {Temperature}.");
        }

        if (!(Clip >= 0) || double.IsInfinity(Clip))
        {
            throw new SampleException($"--clip must be 0 (off) or a positive number, but was {Clip}.");
        }

        if (!OptimizerNames.Contains(Optimizer))
        {
            throw new SampleException($"--optimizer must be one of {string.Join(", ", OptimizerNames)}, but was '{Optimizer}'.");
        }

        if (string.IsNullOrWhiteSpace(OutputFolder))
        {
            throw new SampleException("--output must name a folder.");
        }
    }

    /// <summary>The optimizer the options name; a resumed run must use the same kind as the run it continues.</summary>
    public OptimizerBase<float> CreateOptimizer() => Optimizer switch
    {
        "adam" => new AdamOptimizer<float>(LearningRate),
        "adagrad" => new AdagradOptimizer<float>(LearningRate),
        "rmsprop" => new RmsPropOptimizer<float>(LearningRate),
        "sgd" => new SgdOptimizer<float>(LearningRate, momentum: 0.9),
        _ => throw new SampleException($"unknown optimizer '{Optimizer}'."),
    };

    public Clipping CreateClipping() => Clip > 0 ? Clipping.ByGlobalNorm(Clip) : Clipping.None;

    private static void Positive(int value, string name)
    {
        if (value <= 0)
        {
            throw new SampleException($"{name} must be a positive whole number, but was {value}.");
        }
    }

    private static void NonNegative(int value, string name)
    {
        if (value < 0)
        {
            throw new SampleException($"{name} must be 0 or more, but was {value}.");
        }
    }
}
