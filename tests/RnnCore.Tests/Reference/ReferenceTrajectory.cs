using System.Numerics;
using System.Text.Json;
using MathNet.Numerics.LinearAlgebra;

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
        string[] unchecked_ = new[] { "total_norm_before_clip", "clipped_grads", "steps", "chunks" }
            .Where(key => expected.TryGetProperty(key, out _)).ToArray();
        unchecked_.Should().BeEmpty($"{label}: every field of the file must be checked");
    }
}
