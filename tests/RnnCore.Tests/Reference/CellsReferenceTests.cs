using System.Numerics;
using System.Text.Json;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Tests.TestUtilities;
using static RnnCore.Tests.Reference.ReferenceTests;

namespace RnnCore.Tests.Reference;

/// <summary>
/// Runs every PyTorch float64 reference file found in <c>RNNCORE_REFERENCE_CELLS_DIR</c> (default
/// <c>../shared/reference-cells</c> beside the repository) through <see cref="RecurrentModel{T}"/>, in double and in float,
/// checking every field of the README's layout; a field this runner does not know fails the case. The same for the
/// LSTM-with-projections files in <c>RNNCORE_REFERENCE_CELLS_PROJ_DIR</c> (default <c>../shared/reference-cells-proj</c>).
/// </summary>
public sealed class CellsReferenceTests
{
    private const double DoubleTolerance = 1e-9;
    private const double FloatTolerance = 1e-4;

    private static readonly HashSet<string> KnownFields =
        ["outputs", "top_hidden", "h_n", "c_n", "loss", "grads", "dh_norms", "total_norm_before_clip", "clipped_grads", "steps", "chunks"];

    public static string CellsDirectory
    {
        get
        {
            string? configured = Environment.GetEnvironmentVariable("RNNCORE_REFERENCE_CELLS_DIR");
            string path = string.IsNullOrWhiteSpace(configured) ? Path.Combine("..", "shared", "reference-cells") : configured;
            return Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(RepositoryPaths.Root, path));
        }
    }

    /// <summary>
    /// The LSTM-with-projections cases (PyTorch's <c>proj_size</c>): <c>RNNCORE_REFERENCE_CELLS_PROJ_DIR</c>, default
    /// <c>../shared/reference-cells-proj</c>; the same format with <c>config.proj_size</c> and <c>rnn.weight_hr_l{k}</c>.
    /// </summary>
    public static string ProjectionDirectory
    {
        get
        {
            string? configured = Environment.GetEnvironmentVariable("RNNCORE_REFERENCE_CELLS_PROJ_DIR");
            string path = string.IsNullOrWhiteSpace(configured) ? Path.Combine("..", "shared", "reference-cells-proj") : configured;
            return Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(RepositoryPaths.Root, path));
        }
    }

    public static TheoryData<string, Precision> Cases() => CasesIn(CellsDirectory);

    public static TheoryData<string, Precision> ProjectionCases() => CasesIn(ProjectionDirectory);

    [Theory]
    [MemberData(nameof(Cases))]
    public void CellsReference(string @case, Precision precision) => Run(CellsDirectory, @case, precision);

    [Theory]
    [MemberData(nameof(ProjectionCases))]
    public void CellsReferenceProjections(string @case, Precision precision)
    {
        Run(ProjectionDirectory, @case, precision);
        CellsReferenceCase.Load(Path.Combine(ProjectionDirectory, @case + ".json")).Options.ProjectionSize.Should()
            .NotBeNull($"{@case} is in the projections folder, so its config has proj_size");
    }

    internal static void Run(string directory, string @case, Precision precision)
    {
        string path = Path.Combine(directory, @case + ".json");
        File.Exists(path).Should().BeTrue($"the reference folder {directory} (RNNCORE_REFERENCE_CELLS_DIR) must hold {@case}.json");
        CellsReferenceCase reference = CellsReferenceCase.Load(path);
        if (precision == Precision.@double)
        {
            Check<double>(reference, DoubleTolerance, checkTrajectory: true);
        }
        else
        {
            // Where plain float32 arithmetic leaves the float64 trajectory (the file says so), only the fields at the
            // initial parameters are comparable.
            Check<float>(reference, FloatTolerance, checkTrajectory: reference.Float32TrajectoryComparable);
        }
    }

    internal static void Check<T>(CellsReferenceCase reference, double tolerance, bool checkTrajectory)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string label = $"{reference.Name} ({typeof(T).Name})";
        JsonElement expected = reference.Expected;
        foreach (JsonProperty field in expected.EnumerateObject())
        {
            KnownFields.Should().Contain(field.Name, $"{label}: every expected field must be checked");
        }

        RecurrentModel<T> model = reference.CreateModel<T>();
        List<Matrix<T>> inputs = reference.HasIds ? [] : reference.Inputs<T>();
        int[][] ids = reference.HasIds ? reference.InputIds() : [];
        int[]? lengths = reference.Lengths();
        List<Matrix<T>>? h0 = reference.States<T>("h0");
        List<Matrix<T>>? c0 = reference.States<T>("c0");
        bool lstm = reference.Options.Cell == RecurrentCellKind.Lstm;
        (c0 is not null).Should().Be(lstm, $"{label}: c0 exactly for LSTM");
        SequenceTargets<T> targets = reference.Targets<T>();
        int states = reference.StateCount;

        // Forward: y and o by position, [T][B][n]; final states [L·D][B][H] (h: [L·D][B][P] with projections). A token case feeds ids (and lengths).
        void Forward(RecurrentModel<T> network, ForwardCache<T> into, bool training)
        {
            if (reference.HasIds)
            {
                network.Forward(ids, into, h0, c0, lengths, training);
            }
            else
            {
                network.Forward(inputs, into, h0, c0, lengths, training);
            }
        }

        ForwardCache<T> cache = model.CreateCache(reference.Steps, reference.Batch);
        Forward(model, cache, training: false);
        Tolerance.AssertClose($"{label} outputs", ReferenceCase.Flatten(expected.GetProperty("outputs")), PerStep(cache.Steps, cache.Output), tolerance);
        Tolerance.AssertClose($"{label} top_hidden", ReferenceCase.Flatten(expected.GetProperty("top_hidden")), PerStep(cache.Steps, cache.Hidden), tolerance);
        Tolerance.AssertClose($"{label} h_n", ReferenceCase.Flatten(expected.GetProperty("h_n")), CellsReferenceCase.States(cache.FinalHiddens()), tolerance);
        expected.TryGetProperty("c_n", out JsonElement cn).Should().Be(lstm, $"{label}: c_n exactly for LSTM");
        if (lstm)
        {
            Tolerance.AssertClose($"{label} c_n", ReferenceCase.Flatten(cn), CellsReferenceCase.States(cache.FinalCells()), tolerance);
        }

        // Loss, every gradient and the dh norms at the initial parameters.
        var bptt = new Bptt<T>(model, reference.Placement, reference.Reduction);
        RecurrentGradients<T> gradients = bptt.Backward(cache, targets);
        double loss = expected.GetProperty("loss").GetDouble();
        Tolerance.AssertClose($"{label} loss", loss, double.CreateTruncating(gradients.Loss), tolerance);
        Tolerance.AssertClose($"{label} loss (Bptt.Loss)", loss, double.CreateTruncating(bptt.Loss(cache, targets)), tolerance);
        JsonElement grads = expected.GetProperty("grads");
        AssertParameters($"{label} grads", grads, gradients.ParameterGradients, gradients.Gradient, tolerance, statesToo: true);

        // The same gradients with the time axis walked one step per chunk (real sizes use chunks of about 1024 columns,
        // which these small cases never reach): every weight gradient is then a sum of T products.
        RecurrentGradients<T> stepwise = new Bptt<T>(model, reference.Placement, reference.Reduction) { ChunkColumns = 1 }.Backward(cache, targets);
        AssertParameters($"{label} grads, one step per chunk", grads, stepwise.ParameterGradients, stepwise.Gradient, tolerance, statesToo: true);
        Tolerance.AssertClose(
            $"{label} grads.h0", ReferenceCase.Flatten(grads.GetProperty("h0")),
            CellsReferenceCase.States(Enumerable.Range(0, states).Select(gradients.InitialHidden)), tolerance);
        grads.TryGetProperty("c0", out JsonElement dc0).Should().Be(lstm, $"{label}: grads.c0 exactly for LSTM");
        if (lstm)
        {
            Tolerance.AssertClose(
                $"{label} grads.c0", ReferenceCase.Flatten(dc0), CellsReferenceCase.States(Enumerable.Range(0, states).Select(gradients.InitialCell)), tolerance);
        }

        int d = reference.Options.Bidirectional ? 2 : 1;
        if (!expected.TryGetProperty("dh_norms", out JsonElement dhNorms))
        {
            // Only the token cases (packed sequences, whose per-step dL/dh PyTorch does not expose) leave them out.
            reference.HasIds.Should().BeTrue($"{label}: dh_norms is required except in token cases");
            CheckTrajectory(reference, model, Forward, inputs, h0, c0, targets, gradients, tolerance, checkTrajectory, label);
            return;
        }

        JsonElement[] norms = dhNorms.EnumerateArray().ToArray();
        norms.Should().HaveCount(states, $"{label}: one dh_norms row per layer and direction");
        for (int ld = 0; ld < states; ld++)
        {
            CheckDhNorms<T>(
                $"{label} dh_norms[{ld}] (layer {ld / d}, direction {ld % d})", ReferenceCase.Flatten(norms[ld]),
                gradients.DhNorms(ld / d, ld % d).ToArray(), tolerance);
        }

        CheckTrajectory(reference, model, Forward, inputs, h0, c0, targets, gradients, tolerance, checkTrajectory, label);
    }

    private static void CheckTrajectory<T>(
        CellsReferenceCase reference, RecurrentModel<T> model, Action<RecurrentModel<T>, ForwardCache<T>, bool> forward,
        List<Matrix<T>> inputs, List<Matrix<T>>? h0, List<Matrix<T>>? c0, SequenceTargets<T> targets, RecurrentGradients<T> gradients, double tolerance, bool checkTrajectory, string label)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        JsonElement expected = reference.Expected;
        (reference.ClipMaxNorm is not null && reference.ClipValue is not null).Should().BeFalse($"{label}: a case clips one way or the other, never both");
        Clipping clipping = reference.ClipMaxNorm is double maxNorm ? Clipping.ByGlobalNorm(maxNorm)
            : reference.ClipValue is double clipValue ? Clipping.ByValue(clipValue)
            : Clipping.None;

        if (expected.TryGetProperty("clipped_grads", out JsonElement clipped))
        {
            double norm = clipping.Apply(gradients.ParameterGradients);
            if (expected.TryGetProperty("total_norm_before_clip", out JsonElement total))
            {
                Tolerance.AssertClose($"{label} total_norm_before_clip", total.GetDouble(), norm, tolerance);
            }

            AssertParameters($"{label} clipped_grads", clipped, gradients.ParameterGradients, gradients.Gradient, tolerance, statesToo: false);
        }
        else
        {
            expected.TryGetProperty("total_norm_before_clip", out _).Should().BeFalse($"{label}: a norm without clipped_grads is not a format this runner knows");
        }

        if (expected.TryGetProperty("steps", out JsonElement steps) && checkTrajectory)
        {
            RecurrentModel<T> trained = reference.CreateModel<T>();
            IOptimizer<T> optimizer = ReferenceTrajectory.OptimizerOf<T>(reference.Optimizer, reference.Name);
            var bptt = new Bptt<T>(trained, reference.Placement, reference.Reduction);
            ForwardCache<T> cache = trained.CreateCache(reference.Steps, reference.Batch);
            RecurrentGradients<T> stepGradients = trained.CreateGradients(reference.Steps, reference.Batch);
            int k = 0;
            foreach (JsonElement step in steps.EnumerateArray())
            {
                forward(trained, cache, true);
                T loss = bptt.Backward(cache, targets, stepGradients);
                Tolerance.AssertClose($"{label} steps[{k}].loss_before", step.GetProperty("loss_before").GetDouble(), double.CreateTruncating(loss), tolerance);
                clipping.Apply(stepGradients.ParameterGradients);
                optimizer.Step(trained.Parameters, stepGradients.ParameterGradients);
                AssertParameters($"{label} steps[{k}].params", step.GetProperty("params"), trained.Parameters, trained.Parameter, tolerance, statesToo: false);
                k++;
            }
        }

        if (expected.TryGetProperty("chunks", out JsonElement chunks) && checkTrajectory)
        {
            // Truncated BPTT never looks ahead, so training on the first c + 1 chunks reaches exactly the state after chunk c.
            int chunkLength = reference.TbpttChunk ?? throw new InvalidOperationException($"{label}: chunks without tbptt_chunk");
            JsonElement[] expectedChunks = chunks.EnumerateArray().ToArray();
            expectedChunks.Length.Should().Be((reference.Steps + chunkLength - 1) / chunkLength, $"{label}: one chunk per {chunkLength} steps");
            for (int c = 0; c < expectedChunks.Length; c++)
            {
                int prefix = Math.Min((c + 1) * chunkLength, reference.Steps);
                RecurrentModel<T> trained = reference.CreateModel<T>();
                var tbptt = new TruncatedBptt<T>(
                    trained, ReferenceTrajectory.OptimizerOf<T>(reference.Optimizer, reference.Name), chunkLength, reference.Placement, reference.Reduction, clipping);
                TruncatedBpttResult<T> result = tbptt.Train(inputs.Take(prefix).ToList(), reference.Targets<T>(prefix), h0, c0);
                result.ChunkLosses.Should().HaveCount(c + 1);
                Tolerance.AssertClose($"{label} chunks[{c}].loss", expectedChunks[c].GetProperty("loss").GetDouble(), double.CreateTruncating(result.ChunkLosses[c]), tolerance);
                AssertParameters($"{label} chunks[{c}].params", expectedChunks[c].GetProperty("params"), trained.Parameters, trained.Parameter, tolerance, statesToo: false);
            }
        }
    }

    /// <summary>Every tensor of <paramref name="set"/> against the file's object of the same names (plus h0/c0 for grads).</summary>
    private static void AssertParameters<T>(
        string label, JsonElement expected, TensorSet<T> set, Func<string, Matrix<T>> view, double tolerance, bool statesToo)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CellsReferenceCase.AssertSameNames(set, expected, label);
        if (!statesToo)
        {
            expected.TryGetProperty("h0", out _).Should().BeFalse($"{label}: h0 is an input, never a parameter");
        }

        for (int i = 0; i < set.Count; i++)
        {
            string name = set.GetName(i);
            Tolerance.AssertClose($"{label}.{name}", ReferenceCase.Flatten(expected.GetProperty(name)), CellsReferenceCase.RowMajor(view(name)), tolerance);
        }
    }

    /// <summary>Concatenates per-position matrices (n x B) as the file lays them out: [T][B][n], row-major.</summary>
    private static double[] PerStep<T>(int steps, Func<int, Matrix<T>> block)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Enumerable.Range(0, steps).SelectMany(t => ReferenceCase.RowMajor(block(t).Transpose())).ToArray();
}
