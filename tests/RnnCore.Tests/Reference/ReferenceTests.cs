using System.Numerics;
using System.Text.Json;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Reference;

/// <summary>
/// Runs every PyTorch float64 reference file found in <c>RNNCORE_REFERENCE_DIR</c> (default <c>../shared/reference</c>
/// beside the repository) in double and in float, checking every field the file has.
/// </summary>
public sealed class ReferenceTests
{
    /// <summary>Lower-case members so that test names read <c>precision: double</c>, as the file's own vocabulary does.</summary>
    public enum Precision
    {
#pragma warning disable SA1300, IDE1006 // the names are the C# keywords on purpose: they are what the test name shows
        @double,
        @float,
#pragma warning restore SA1300, IDE1006
    }

    private const double DoubleTolerance = 1e-9;
    private const double FloatTolerance = 1e-4;

    public static string ReferenceDirectory
    {
        get
        {
            string? configured = Environment.GetEnvironmentVariable("RNNCORE_REFERENCE_DIR");
            string path = string.IsNullOrWhiteSpace(configured) ? Path.Combine("..", "shared", "reference") : configured;
            return Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(RepositoryPaths.Root, path));
        }
    }

    public static TheoryData<string, Precision> Cases() => CasesIn(ReferenceDirectory);

    internal static TheoryData<string, Precision> CasesIn(string directory)
    {
        var data = new TheoryData<string, Precision>();
        string[] files = Directory.Exists(directory)
            ? Directory.GetFiles(directory, "*.json").Order(StringComparer.Ordinal).ToArray()
            : [];
        foreach (string file in files)
        {
            data.Add(Path.GetFileNameWithoutExtension(file), Precision.@double);
            data.Add(Path.GetFileNameWithoutExtension(file), Precision.@float);
        }

        if (files.Length == 0)
        {
            // A missing folder must fail, not pass with zero cases.
            data.Add($"(no *.json in {directory})", Precision.@double);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reference(string @case, Precision precision) => Run(ReferenceDirectory, @case, precision);

    internal static void Run(string directory, string @case, Precision precision)
    {
        string path = Path.Combine(directory, @case + ".json");
        File.Exists(path).Should().BeTrue($"the reference folder {directory} (RNNCORE_REFERENCE_DIR) must hold {@case}.json");
        ReferenceCase reference = ReferenceCase.Load(path);
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

    internal static void Check<T>(ReferenceCase reference, double tolerance, bool checkTrajectory)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        RecurrentLayer<T> layer = reference.CreateLayer<T>();
        List<Matrix<T>> inputs = reference.Inputs<T>();
        Matrix<T> h0 = reference.InitialHidden<T>();
        SequenceTargets<T> targets = reference.Targets<T>();
        JsonElement expected = reference.Expected;
        string label = $"{reference.Name} ({typeof(T).Name})";

        // Forward: h_1..h_T and y_1..y_T, each [T][B][n] in the file.
        ForwardCache<T> cache = layer.Forward(inputs, [h0]);
        Tolerance.AssertClose($"{label} hidden", ReferenceCase.Flatten(expected.GetProperty("hidden")), PerStep(cache.Steps, cache.Hidden), tolerance);
        Tolerance.AssertClose($"{label} outputs", ReferenceCase.Flatten(expected.GetProperty("outputs")), PerStep(cache.Steps, cache.Output), tolerance);

        // Loss and BPTT at the initial parameters.
        var bptt = new Bptt<T>(layer, reference.Placement, reference.Reduction);
        RecurrentGradients<T> gradients = bptt.Backward(cache, targets);
        Tolerance.AssertClose($"{label} loss", expected.GetProperty("loss").GetDouble(), double.CreateTruncating(gradients.Loss), tolerance);
        Tolerance.AssertClose($"{label} loss (Bptt.Loss)", expected.GetProperty("loss").GetDouble(), double.CreateTruncating(bptt.Loss(cache, targets)), tolerance);
        AssertParameters($"{label} grads", expected.GetProperty("grads"), gradients.Gradient("Wx"), gradients.Gradient("Wh"), gradients.Gradient("Wy"), gradients.Gradient("Bh").Column(0), gradients.Gradient("By").Column(0), tolerance);
        Tolerance.AssertClose(
            $"{label} grads.h0",
            ReferenceCase.Flatten(expected.GetProperty("grads").GetProperty("h0")),
            ReferenceCase.RowMajor(gradients.InitialHidden(0).Transpose()),
            tolerance);
        CheckDhNorms<T>($"{label} dh_norms", ReferenceCase.Flatten(expected.GetProperty("dh_norms")), gradients.DhNorms(0, 0).ToArray(), tolerance);

        // The same gradients with the time axis walked one step per chunk (real sizes use chunks of about 1024 columns,
        // which these small cases never reach): the weight gradients are then sums of T products each.
        RecurrentGradients<T> stepwise = new Bptt<T>(layer, reference.Placement, reference.Reduction) { ChunkColumns = 1 }.Backward(cache, targets);
        AssertParameters($"{label} grads, one step per chunk", expected.GetProperty("grads"), stepwise.Gradient("Wx"), stepwise.Gradient("Wh"), stepwise.Gradient("Wy"), stepwise.Gradient("Bh").Column(0), stepwise.Gradient("By").Column(0), tolerance);

        ReferenceTrajectory.Check(reference, layer, inputs, h0, targets, gradients, tolerance, checkTrajectory, label);
    }

    /// <summary>
    /// dh_norms as the README asks: in double each norm relative to itself (a vanishing norm of 1e-25 is computed to about
    /// 15 digits, so an error of 1e-6 in it must fail; exact zeros stay zero); in float relative to the largest norm, the
    /// only scale on which float32's small norms mean anything.
    /// </summary>
    internal static void CheckDhNorms<T>(string label, double[] expected, double[] actual, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(double))
        {
            Tolerance.AssertCloseElementwise(label, expected, actual, tolerance);
        }
        else
        {
            Tolerance.AssertClose(label, expected, actual, tolerance);
        }
    }

    /// <summary>Concatenates step matrices (n x B) as the file lays them out: [T][B][n], row-major.</summary>
    private static double[] PerStep<T>(int steps, Func<int, Matrix<T>> block)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Enumerable.Range(0, steps).SelectMany(t => ReferenceCase.RowMajor(block(t).Transpose())).ToArray();

    internal static void AssertParameters<T>(
        string label, JsonElement expected, Matrix<T> wx, Matrix<T> wh, Matrix<T> wy,
        MathNet.Numerics.LinearAlgebra.Vector<T> bh, MathNet.Numerics.LinearAlgebra.Vector<T> by, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tolerance.AssertClose($"{label}.W_x", ReferenceCase.Flatten(expected.GetProperty("W_x")), ReferenceCase.RowMajor(wx), tolerance);
        Tolerance.AssertClose($"{label}.W_h", ReferenceCase.Flatten(expected.GetProperty("W_h")), ReferenceCase.RowMajor(wh), tolerance);
        Tolerance.AssertClose($"{label}.W_y", ReferenceCase.Flatten(expected.GetProperty("W_y")), ReferenceCase.RowMajor(wy), tolerance);
        Tolerance.AssertClose($"{label}.b_h", ReferenceCase.Flatten(expected.GetProperty("b_h")), bh.Select(double.CreateTruncating).ToArray(), tolerance);
        Tolerance.AssertClose($"{label}.b_y", ReferenceCase.Flatten(expected.GetProperty("b_y")), by.Select(double.CreateTruncating).ToArray(), tolerance);
    }
}
