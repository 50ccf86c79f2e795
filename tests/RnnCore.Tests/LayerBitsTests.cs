using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests;

/// <summary>
/// The vanilla layer's bits, recorded before issue 18 made it one network with the model: outputs and hidden states at
/// every real position, final hidden states, loss, every gradient, dL/dh_0 and the dh norms, plus a truncated-BPTT run's
/// chunk losses, norms, carried state and trained parameters, for tanh and ReLU, every output activation and reduction,
/// padded and not, in float and double, each on 1, 2 and 3 threads. Each quantity is stored as the SHA-256 of its raw
/// little-endian bits in <c>layer-bits.txt</c>, so the comparison is bit for bit.
/// </summary>
/// <remarks>
/// The file was written by this class at commit 4d7010d (set <c>RNNCORE_RECORD_LAYER_BITS</c> to a path to write it
/// again; never needed unless the configurations change). Padded positions are not recorded: issue 18 moves the layer to
/// PyTorch's convention there (outputs read as zeros), which changes no real position.
/// </remarks>
public sealed class LayerBitsTests
{
    private static readonly string RecordPath = Path.Combine(AppContext.BaseDirectory, "layer-bits.txt");

    private sealed record Config(
        string Name, HiddenActivation Hidden, OutputActivation Output, LossPlacement Placement, LossReduction Reduction,
        int I, int H, int O, int Steps, int Batch, int[]? Lengths, bool InitialHidden, int TruncatedChunk);

    private static readonly Config[] Configs =
    [
        new("tanh-softmax-every-sum", HiddenActivation.Tanh, OutputActivation.Softmax, LossPlacement.EveryStep, LossReduction.Sum, 4, 6, 5, 7, 3, null, false, 0),
        new("relu-identity-every-mean", HiddenActivation.Relu, OutputActivation.Identity, LossPlacement.EveryStep, LossReduction.Mean, 4, 6, 3, 7, 3, null, true, 0),
        new("tanh-sigmoid-last-sum", HiddenActivation.Tanh, OutputActivation.Sigmoid, LossPlacement.LastStep, LossReduction.Sum, 3, 5, 2, 6, 2, null, true, 0),
        new("relu-softmax-last-mean-padded", HiddenActivation.Relu, OutputActivation.Softmax, LossPlacement.LastStep, LossReduction.Mean, 3, 5, 4, 7, 4, [7, 3, 1, 5], true, 0),
        new("tanh-identity-every-sum-padded", HiddenActivation.Tanh, OutputActivation.Identity, LossPlacement.EveryStep, LossReduction.Sum, 3, 5, 4, 7, 4, [2, 7, 4, 6], false, 0),
        new("tanh-sigmoid-every-mean-padded", HiddenActivation.Tanh, OutputActivation.Sigmoid, LossPlacement.EveryStep, LossReduction.Mean, 3, 5, 4, 7, 4, [5, 5, 1, 7], true, 0),
        new("tanh-softmax-large", HiddenActivation.Tanh, OutputActivation.Softmax, LossPlacement.EveryStep, LossReduction.Mean, 32, 128, 16, 10, 8, null, true, 0),
        new("relu-softmax-large-padded", HiddenActivation.Relu, OutputActivation.Softmax, LossPlacement.EveryStep, LossReduction.Sum, 32, 96, 16, 10, 8, [10, 4, 9, 1, 10, 7, 2, 8], true, 0),
        new("truncated-tanh-softmax-every", HiddenActivation.Tanh, OutputActivation.Softmax, LossPlacement.EveryStep, LossReduction.Sum, 4, 6, 5, 8, 2, null, true, 3),
        new("truncated-relu-identity-last", HiddenActivation.Relu, OutputActivation.Identity, LossPlacement.LastStep, LossReduction.Mean, 4, 6, 3, 8, 2, null, false, 3),
    ];

    public static TheoryData<string> ConfigNames()
    {
        var data = new TheoryData<string>();
        foreach (Config config in Configs)
        {
            data.Add(config.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ConfigNames))]
    public void Double_layer_bits_equal_the_recorded_ones(string name) => Check<double>(name);

    [Theory]
    [MemberData(nameof(ConfigNames))]
    public void Float_layer_bits_equal_the_recorded_ones(string name) => Check<float>(name);

    /// <summary>Writes the record file (run by hand with RNNCORE_RECORD_LAYER_BITS set to the file to write).</summary>
    [Fact]
    public void Record_when_asked()
    {
        string? path = Environment.GetEnvironmentVariable("RNNCORE_RECORD_LAYER_BITS");
        if (string.IsNullOrEmpty(path))
        {
            File.Exists(RecordPath).Should().BeTrue("layer-bits.txt is copied beside the tests");
            return;
        }

        var lines = new List<string>();
        foreach (Config config in Configs)
        {
            foreach ((string quantity, string hash) in Hashes<double>(config, 1))
            {
                lines.Add($"double {config.Name} {quantity} {hash}");
            }

            foreach ((string quantity, string hash) in Hashes<float>(config, 1))
            {
                lines.Add($"float {config.Name} {quantity} {hash}");
            }
        }

        File.WriteAllLines(path, lines);
    }

    private static void Check<T>(string name)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string type = typeof(T) == typeof(float) ? "float" : "double";
        Dictionary<string, string> recorded = File.ReadAllLines(RecordPath)
            .Select(line => line.Split(' '))
            .Where(parts => parts[0] == type && parts[1] == name)
            .ToDictionary(parts => parts[2], parts => parts[3]);
        recorded.Should().NotBeEmpty($"layer-bits.txt must hold {type} {name}");
        Config config = Configs.Single(c => c.Name == name);
        for (int threads = 1; threads <= 3; threads++)
        {
            Dictionary<string, string> now = Hashes<T>(config, threads).ToDictionary(p => p.Quantity, p => p.Hash);
            now.Keys.Should().BeEquivalentTo(recorded.Keys);
            foreach ((string quantity, string hash) in recorded)
            {
                now[quantity].Should().Be(hash, $"{type} {name} {quantity} on {threads} thread(s) must keep the recorded bits");
            }
        }
    }

    /// <summary>The quantities of one configuration, each as the SHA-256 of its bits.</summary>
    private static List<(string Quantity, string Hash)> Hashes<T>(Config c, int threads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using RnnCoreSettings.ParallelismScope scope = RnnCoreSettings.UseDegreeOfParallelism(threads);
        var random = new Random(c.Name.Length * 7919 + c.H);
        var layer = new RecurrentLayer<T>(c.I, c.H, c.O, c.Hidden, c.Output, seed: c.Name.Length);
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, c.I, c.Steps, c.Batch);
        Matrix<T>? h0 = c.InitialHidden ? RandomProblems.Hidden<T>(random, c.H, c.Batch) : null;
        SequenceTargets<T> targets = RandomProblems.Targets(
            random, layer, c.Steps, c.Batch, c.TruncatedChunk > 0 ? LossPlacement.EveryStep : c.Placement);
        var result = new List<(string, string)>();
        if (c.TruncatedChunk > 0)
        {
            var truncated = new TruncatedBptt<T>(layer, new SgdOptimizer<T>(0.1, momentum: 0.9), c.TruncatedChunk, c.Placement, c.Reduction);
            TruncatedBpttResult<T> trained = truncated.Train(inputs, targets, h0 is null ? null : [h0]);
            result.Add(("chunk-losses", Hash<T>(trained.ChunkLosses.ToArray())));
            result.Add(("chunk-norms", Hash<double>(trained.GradientNormsBeforeClipping.ToArray())));
            result.Add(("final-hidden", Hash<T>(trained.FinalHidden[0].ToColumnMajorArray())));
            AddParameters(layer, result);
            return result;
        }

        var bptt = new Bptt<T>(layer, c.Placement, c.Reduction);
        ForwardCache<T> cache = layer.CreateCache(c.Steps, c.Batch);
        layer.Forward(inputs, cache, h0 is null ? null : [h0], null, c.Lengths);
        RecurrentGradients<T> gradients = layer.CreateGradients(c.Steps, c.Batch);
        T loss = bptt.Backward(cache, targets, gradients);

        // Real positions only, step by step, column by column.
        var outputs = new List<T>();
        var hiddens = new List<T>();
        for (int t = 0; t < c.Steps; t++)
        {
            Matrix<T> y = cache.Output(t);
            Matrix<T> h = cache.Hidden(t);
            for (int b = 0; b < c.Batch; b++)
            {
                if (c.Lengths is null || t < c.Lengths[b])
                {
                    outputs.AddRange(y.Column(b));
                    hiddens.AddRange(h.Column(b));
                }
            }
        }

        result.Add(("outputs", Hash<T>(outputs.ToArray())));
        result.Add(("hiddens", Hash<T>(hiddens.ToArray())));
        result.Add(("final-hidden", Hash<T>(cache.FinalHidden(0).ToColumnMajorArray())));
        result.Add(("loss", Hash<T>([loss])));
        result.Add(("gradient-Wx", Hash<T>(gradients.Gradient("Wx").ToColumnMajorArray())));
        result.Add(("gradient-Wh", Hash<T>(gradients.Gradient("Wh").ToColumnMajorArray())));
        result.Add(("gradient-Wy", Hash<T>(gradients.Gradient("Wy").ToColumnMajorArray())));
        result.Add(("gradient-Bh", Hash<T>(gradients.Gradient("Bh").Column(0).ToArray())));
        result.Add(("gradient-By", Hash<T>(gradients.Gradient("By").Column(0).ToArray())));
        result.Add(("gradient-h0", Hash<T>(gradients.InitialHidden(0).ToColumnMajorArray())));
        result.Add(("dh-norms", Hash<double>(gradients.DhNorms(0, 0).ToArray())));
        return result;
    }

    private static void AddParameters<T>(RecurrentLayer<T> layer, List<(string, string)> result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        result.Add(("trained-Wx", Hash<T>(layer.Wx.ToColumnMajorArray())));
        result.Add(("trained-Wh", Hash<T>(layer.Wh.ToColumnMajorArray())));
        result.Add(("trained-Wy", Hash<T>(layer.Wy.ToColumnMajorArray())));
        result.Add(("trained-Bh", Hash<T>(layer.Bh.ToArray())));
        result.Add(("trained-By", Hash<T>(layer.By.ToArray())));
    }

    private static string Hash<T>(T[] values)
        where T : unmanaged
        => Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(values.AsSpan()))).ToLower(CultureInfo.InvariantCulture)
            + "/" + values.Length.ToString(CultureInfo.InvariantCulture);
}
