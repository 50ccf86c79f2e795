using System.Diagnostics;
using System.Globalization;

namespace RnnCore.Benchmarks;

/// <summary>
/// Times one training step exactly as ../shared/peers/pytorch_rnn_step.py and numpy_rnn_step.py time theirs, so the
/// three medians can be read as ratios from one session: the same step (tanh RNN, linear output, softmax cross-entropy
/// with mean reduction at every step, full BPTT, SGD with learning rate 0.01), the same sizes, warm-up steps first
/// (at least 2 s of them here, so that the JIT's tiered compilation is done),
/// then the median and minimum of single-step wall-clock times, and GFLOP/s from the same 6·T·B·(I·H + H·H + H·O).
/// </summary>
/// <remarks>
/// Usage: <c>--peer-step [--configs S,M,L,XL] [--iters 20] [--warmup 3] [--dtype float32|float64] [--threads N]
/// [--cell rnn|lstm|gru] [--layers N] [--bidirectional]</c>, the last three as in pytorch_rnn_step.py (FLOPs counted as it
/// counts them).
/// BenchmarkDotNet's <see cref="TrainStepBenchmarks{T}"/> measures the same step with its own statistics and allocation
/// counts; this mode exists for the side-by-side run in benchmarks/compare-with-peers.sh.
/// </remarks>
public static class PeerStep
{
    public static int Run(string[] args)
    {
        string configs = Option(args, "--configs", "S,M,L,XL");
        int iterations = int.Parse(Option(args, "--iters", "20"), CultureInfo.InvariantCulture);
        int warmup = int.Parse(Option(args, "--warmup", "3"), CultureInfo.InvariantCulture);
        string dtype = Option(args, "--dtype", "float32");
        RnnCoreSettings.MaxDegreeOfParallelism = int.Parse(Option(args, "--threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        string cell = Option(args, "--cell", "rnn");
        int layers = int.Parse(Option(args, "--layers", "1"), CultureInfo.InvariantCulture);
        bool bidirectional = args.Contains("--bidirectional");
        int gates = cell switch
        {
            "rnn" => 1,
            "lstm" => 4,
            "gru" => 3,
            _ => throw new ArgumentException($"--cell is '{cell}'; expected rnn, lstm or gru.", nameof(args)),
        };
        int directions = bidirectional ? 2 : 1;
        Console.WriteLine($"RnnCore, .NET {Environment.Version}, threads {RnnCoreSettings.MaxDegreeOfParallelism}, {dtype}, {cell} x{layers}{(bidirectional ? " bidirectional" : string.Empty)}");
        foreach (string name in configs.Split(','))
        {
            RnnConfig config = RnnConfig.All.FirstOrDefault(c => c.Name == name)
                ?? throw new ArgumentException($"unknown config '{name}'; expected S, M, L or XL.", nameof(args));
            double[] seconds = dtype == "float64"
                ? Time<double>(() => new TrainingStep<double>(config, cell, layers, bidirectional).Run, warmup, iterations)
                : Time<float>(() => new TrainingStep<float>(config, cell, layers, bidirectional).Run, warmup, iterations);
            Array.Sort(seconds);
            double median = seconds.Length % 2 == 1 ? seconds[seconds.Length / 2] : (seconds[(seconds.Length / 2) - 1] + seconds[seconds.Length / 2]) / 2;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{config.Name}: I={config.InputSize} H={config.HiddenSize} O={config.OutputSize} T={config.Steps} B={config.Batch}  " +
                $"median {median * 1e3:F3} ms  min {seconds[0] * 1e3:F3} ms  {config.ModelStepFlops(gates, layers, directions) / median / 1e9:F1} GFLOP/s"));
        }

        return 0;
    }

    private static double[] Time<TResult>(Func<Func<TResult>> create, int warmup, int iterations)
    {
        Func<TResult> run = create();

        // Warm-up: the peers' 3 steps, and at least 2 s, so that tiered compilation has promoted every hot method
        // (it recompiles a method after 30 calls, in the background) before anything is timed.
        long warmupStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < warmup || Stopwatch.GetElapsedTime(warmupStart).TotalSeconds < 2; i++)
        {
            run();
        }

        double[] seconds = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            long start = Stopwatch.GetTimestamp();
            run();
            seconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        return seconds;
    }

    /// <summary>The value after <paramref name="name"/> in <paramref name="args"/>, or <paramref name="fallback"/>.</summary>
    internal static string Option(string[] args, string name, string fallback)
    {
        int index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : fallback;
    }
}
