using System.Numerics;
using System.Text.Json;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Reference;

/// <summary>The reference fields after the initial parameters: clipping, optimizer steps, truncated-BPTT chunks.</summary>
internal static class ReferenceTrajectory
{
    public static void Check<T>(
        ReferenceCase reference, RecurrentLayer<T> layer, List<Matrix<T>> inputs, Matrix<T> h0, SequenceTargets<T> targets,
        RecurrentGradients<T> gradients, double tolerance, bool checkTrajectory, string label)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        JsonElement expected = reference.Expected;
        Clipping clipping = ClippingOf(reference);

        // Clipping of the initial gradients (over the whole sequence).
        if (expected.TryGetProperty("clipped_grads", out JsonElement clipped))
        {
            double norm = clipping.Apply(gradients.ParameterGradients);
            if (expected.TryGetProperty("total_norm_before_clip", out JsonElement total))
            {
                Tolerance.AssertClose($"{label} total_norm_before_clip", total.GetDouble(), norm, tolerance);
            }

            ReferenceTests.AssertParameters($"{label} clipped_grads", clipped, gradients.Gradient("Wx"), gradients.Gradient("Wh"), gradients.Gradient("Wy"), gradients.Gradient("Bh").Column(0), gradients.Gradient("By").Column(0), tolerance);
        }
        else
        {
            expected.TryGetProperty("total_norm_before_clip", out _).Should().BeFalse($"{label}: a norm without clipped_grads is not a format this runner knows");
        }

        if (expected.TryGetProperty("steps", out JsonElement steps) && checkTrajectory)
        {
            CheckSteps(reference, inputs, h0, targets, clipping, steps, tolerance, label);
        }

        if (expected.TryGetProperty("chunks", out JsonElement chunks) && checkTrajectory)
        {
            CheckChunks(reference, inputs, h0, clipping, chunks, tolerance, label);
        }
    }

    /// <summary>Each step recomputes the gradients on the same batch at the current parameters, clips, and updates.</summary>
    private static void CheckSteps<T>(
        ReferenceCase reference, List<Matrix<T>> inputs, Matrix<T> h0, SequenceTargets<T> targets, Clipping clipping,
        JsonElement steps, double tolerance, string label)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        RecurrentLayer<T> layer = reference.CreateLayer<T>();
        IOptimizer<T> optimizer = OptimizerOf<T>(reference);
        var bptt = new Bptt<T>(layer, reference.Placement, reference.Reduction);
        ForwardCache<T> cache = layer.CreateCache(reference.Steps, reference.Batch);
        RecurrentGradients<T> gradients = layer.CreateGradients(reference.Steps, reference.Batch);
        int k = 0;
        foreach (JsonElement step in steps.EnumerateArray())
        {
            layer.Forward(inputs, cache, [h0]);
            T loss = bptt.Backward(cache, targets, gradients);
            Tolerance.AssertClose($"{label} steps[{k}].loss_before", step.GetProperty("loss_before").GetDouble(), double.CreateTruncating(loss), tolerance);
            clipping.Apply(gradients.ParameterGradients);
            optimizer.Step(layer, gradients);
            ReferenceTests.AssertParameters($"{label} steps[{k}].params", step.GetProperty("params"), layer.Wx, layer.Wh, layer.Wy, layer.Bh, layer.By, tolerance);
            k++;
        }
    }

    /// <summary>
    /// Chunk c's loss and the parameters after its update. Truncated BPTT never looks ahead, so training on the first
    /// c + 1 chunks from the initial parameters reaches exactly the state after chunk c.
    /// </summary>
    private static void CheckChunks<T>(
        ReferenceCase reference, List<Matrix<T>> inputs, Matrix<T> h0, Clipping clipping, JsonElement chunks, double tolerance, string label)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int chunkLength = reference.TbpttChunk ?? throw new InvalidOperationException($"{label}: chunks without tbptt_chunk");
        JsonElement[] expected = chunks.EnumerateArray().ToArray();
        expected.Length.Should().Be((reference.Steps + chunkLength - 1) / chunkLength, $"{label}: one chunk per {chunkLength} steps");
        SequenceTargets<T> perStep = reference.PerStepTargets<T>();
        for (int c = 0; c < expected.Length; c++)
        {
            int prefix = Math.Min((c + 1) * chunkLength, reference.Steps);
            RecurrentLayer<T> layer = reference.CreateLayer<T>();
            var tbptt = new TruncatedBptt<T>(layer, OptimizerOf<T>(reference), chunkLength, reference.Placement, reference.Reduction, clipping);
            TruncatedBpttResult<T> result = tbptt.Train(inputs.Take(prefix).ToList(), reference.PerStepTargets<T>(prefix), [h0]);
            result.ChunkLosses.Should().HaveCount(c + 1);
            Tolerance.AssertClose($"{label} chunks[{c}].loss", expected[c].GetProperty("loss").GetDouble(), double.CreateTruncating(result.ChunkLosses[c]), tolerance);
            ReferenceTests.AssertParameters($"{label} chunks[{c}].params", expected[c].GetProperty("params"), layer.Wx, layer.Wh, layer.Wy, layer.Bh, layer.By, tolerance);
        }

        perStep.Steps.Should().Be(reference.Steps);
    }

    private static Clipping ClippingOf(ReferenceCase reference)
    {
        (reference.ClipMaxNorm is not null && reference.ClipValue is not null).Should().BeFalse($"{reference.Name}: a case clips one way or the other, never both");
        return reference.ClipMaxNorm is double maxNorm ? Clipping.ByGlobalNorm(maxNorm)
            : reference.ClipValue is double clipValue ? Clipping.ByValue(clipValue)
            : Clipping.None;
    }

    /// <summary>The case's torch.optim optimizer with PyTorch's argument names; an argument this runner does not know fails the test.</summary>
    private static IOptimizer<T> OptimizerOf<T>(ReferenceCase reference)
        where T : unmanaged, IFloatingPointIeee754<T>
        => OptimizerOf<T>(reference.Optimizer, reference.Name);

    /// <summary>The optimizer of a config's <c>optimizer</c> object (shared with the cells runner).</summary>
    internal static IOptimizer<T> OptimizerOf<T>(JsonElement? optimizerConfig, string caseName)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var reference = new { Name = caseName };
        JsonElement config = optimizerConfig ?? throw new InvalidOperationException($"{reference.Name}: steps or chunks without an optimizer");
        var arguments = config.EnumerateObject().Where(p => p.Name != "name").ToDictionary(p => p.Name, p => p.Value);
        double Number(string name, double fallback) => arguments.Remove(name, out JsonElement v) ? v.GetDouble() : fallback;
        bool Flag(string name) => arguments.Remove(name, out JsonElement v) && v.GetBoolean();

        string name = config.GetProperty("name").GetString()!;
        IOptimizer<T> optimizer = name switch
        {
            "sgd" => new SgdOptimizer<T>(Number("lr", double.NaN), Number("momentum", 0), Number("dampening", 0), Flag("nesterov"), Number("weight_decay", 0)),
            "adagrad" => new AdagradOptimizer<T>(Number("lr", 0.01), Number("lr_decay", 0), Number("weight_decay", 0), Number("initial_accumulator_value", 0), Number("eps", 1e-10)),
            "rmsprop" => new RmsPropOptimizer<T>(Number("lr", 0.01), Number("alpha", 0.99), Number("eps", 1e-8), Number("weight_decay", 0), Number("momentum", 0), Flag("centered")),
            "adam" => Adam<T>(arguments, Number("lr", 0.001), Number("eps", 1e-8), Number("weight_decay", 0), Flag("amsgrad")),
            _ => throw new NotSupportedException($"{reference.Name}: optimizer '{name}' is not one RnnCore has"),
        };
        arguments.Keys.Should().BeEmpty($"{reference.Name}: every optimizer argument must be understood");
        return optimizer;
    }

    private static AdamOptimizer<T> Adam<T>(Dictionary<string, JsonElement> arguments, double lr, double eps, double weightDecay, bool amsGrad)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double beta1 = 0.9, beta2 = 0.999;
        if (arguments.Remove("betas", out JsonElement betas))
        {
            beta1 = betas[0].GetDouble();
            beta2 = betas[1].GetDouble();
        }

        return new AdamOptimizer<T>(lr, beta1, beta2, eps, weightDecay, amsGrad);
    }
}
