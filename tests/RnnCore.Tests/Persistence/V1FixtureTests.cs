using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Persistence;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// Files written by the first release's format (version 1) still load, with the same content. The files in
/// fixtures/v1 were written by ModelFile.Save at commit 5ee53b3, before format version 2 existed, by the program kept
/// beside them (generator.cs.txt); the expected digests, outputs, optimizer states and positions below are what that
/// program printed then, computed by that commit's code, not by the code under test.
/// </summary>
public sealed class V1FixtureTests
{
    private static string Fixture(string name) => Path.Combine(RepositoryPaths.Root, "tests", "RnnCore.Tests", "Persistence", "fixtures", "v1", name + ".rnncore");

    [Fact]
    public void A_v1_float_layer_loads_with_its_parameters_and_outputs()
    {
        string path = Fixture("layer-float-tanh-softmax");
        BitConverter.ToUInt32(File.ReadAllBytes(path), 8).Should().Be(1u, "the fixture is a version 1 file");
        RecurrentLayer<float> layer = (RecurrentLayer<float>)ModelFile.Load<float>(path);
        layer.HiddenActivation.Should().Be(HiddenActivation.Tanh);
        layer.OutputActivation.Should().Be(OutputActivation.Softmax);
        (layer.InputSize, layer.HiddenSize, layer.OutputSize).Should().Be((3, 5, 4));
        ParameterDigest(layer.Parameters).Should().Be("36D2D244786B91463C7A1DD6EA607734DFBEF35CACB3EB7BE745C0CE729D3DBB");
        LastOutput(layer).Should().Equal(
            [0.18780188262462616, 0.334674209356308, 0.2870175838470459, 0.19050630927085876, 0.15986473858356476, 0.2698572874069214, 0.3452925980091095, 0.22498537600040436],
            (a, e) => Math.Abs(a - e) <= 1e-6);
        ModelFile.LoadCheckpoint<float>(path).OptimizerState.Should().BeNull();
    }

    [Fact]
    public void A_v1_double_layer_loads_with_its_parameters_and_outputs()
    {
        RecurrentLayer<double> layer = (RecurrentLayer<double>)ModelFile.Load<double>(Fixture("layer-double-relu-sigmoid"));
        layer.HiddenActivation.Should().Be(HiddenActivation.Relu);
        layer.OutputActivation.Should().Be(OutputActivation.Sigmoid);
        (layer.InputSize, layer.HiddenSize, layer.OutputSize).Should().Be((2, 4, 1));
        ParameterDigest(layer.Parameters).Should().Be("D3A896266609CDD95EBCBAEDA7F7577BC95C1C37F1592464D3DBE5C460DDB901");
        LastOutput(layer).Should().Equal([0.44962330716024607, 0.5253373056438462], (a, e) => Math.Abs(a - e) <= 1e-12);
    }

    [Fact]
    public void A_v1_double_checkpoint_loads_with_its_adam_state_and_position()
    {
        Checkpoint<double> checkpoint = ModelFile.LoadCheckpoint<double>(Fixture("checkpoint-double-adam"));
        RecurrentLayer<double> layer = (RecurrentLayer<double>)checkpoint.Model;
        layer.OutputActivation.Should().Be(OutputActivation.Identity);
        (layer.InputSize, layer.HiddenSize, layer.OutputSize).Should().Be((3, 4, 2));
        ParameterDigest(layer.Parameters).Should().Be("FD01FAE818720B402945F3B7BD1165CF97C2CDC84C9F026DA0D0C7BAF54446C8");
        LastOutput(layer).Should().Equal(
            [0.6365127735777834, 0.17856939827064783, 0.4422649488721489, 0.3296955342683404], (a, e) => Math.Abs(a - e) <= 1e-12);

        OptimizerState<double> state = checkpoint.OptimizerState!;
        (state.OptimizerName, state.StepCount, state.LearningRate, state.BuffersPerTensor).Should().Be(("AdamOptimizer", 2L, 0.01, 3));
        StateDigest(state).Should().Be("DF0CA495D4FD0033D8CAF2A6B6AAEF6DF5ACBE13350C913E78F9996FC987974C");
        checkpoint.Position.Should().Be(new TrainingPosition(3, 1, [1UL, 2UL, ulong.MaxValue, 4UL]));
        checkpoint.RestoreOptimizer(new AdamOptimizer<double>(0.01, amsGrad: true));
    }

    [Fact]
    public void A_v1_float_checkpoint_loads_with_its_sgd_state_and_position()
    {
        Checkpoint<float> checkpoint = ModelFile.LoadCheckpoint<float>(Fixture("checkpoint-float-sgd"));
        ParameterDigest(checkpoint.Model.Parameters).Should().Be("9692DA911AD9ECB0BDE36B5B1F686E67CD7BC95F702D68B6A162462226A7F37B");
        LastOutput(checkpoint.Model).Should().Equal(
            [0.41933923959732056, 0.4110356271266937, 0.1696251928806305, 0.32438063621520996, 0.4419592618942261, 0.23366007208824158],
            (a, e) => Math.Abs(a - e) <= 1e-6);
        OptimizerState<float> state = checkpoint.OptimizerState!;
        (state.OptimizerName, state.StepCount, state.LearningRate, state.BuffersPerTensor).Should().Be(("SgdOptimizer", 3L, 0.1, 1));
        StateDigest(state).Should().Be("D288B629A98B937635454760F3B19E262BAD26175262B6505A9D7D809484836B");
        checkpoint.Position.Should().Be(new TrainingPosition(2, 0, [5UL, 6UL, 7UL, 8UL]));
    }

    [Fact]
    public void A_v1_file_loads_into_an_existing_layer_and_a_mismatched_one_is_told_what_differs()
    {
        var layer = new RecurrentLayer<float>(3, 5, 4, seed: 99);
        ModelFile.LoadInto(layer, Fixture("layer-float-tanh-softmax"));
        ParameterDigest(layer.Parameters).Should().Be("36D2D244786B91463C7A1DD6EA607734DFBEF35CACB3EB7BE745C0CE729D3DBB");

        var other = new RecurrentLayer<float>(3, 6, 4, seed: 99);
        FluentActions.Invoking(() => ModelFile.LoadInto(other, Fixture("layer-float-tanh-softmax")))
            .Should().Throw<ModelFormatException>().Where(e => e.Error == ModelFormatError.Mismatch).WithMessage("*hiddenSize H is 5 in the file but 6*");
    }

    /// <summary>SHA-256 of every parameter's bytes, in order (what the generator hashed).</summary>
    internal static string ParameterDigest<T>(TensorSet<T> parameters)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int i = 0; i < parameters.Count; i++)
        {
            sha.AppendData(MemoryMarshal.AsBytes((ReadOnlySpan<T>)parameters[i]));
        }

        return Convert.ToHexString(sha.GetHashAndReset());
    }

    private static string StateDigest<T>(OptimizerState<T> state)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int i = 0; i < state.TensorLengths.Count; i++)
        {
            for (int k = 0; k < state.BuffersPerTensor; k++)
            {
                sha.AppendData(MemoryMarshal.AsBytes(state.Buffer(i, k)));
            }
        }

        return Convert.ToHexString(sha.GetHashAndReset());
    }

    /// <summary>The output at the last of 3 steps for 2 sequences with x_t[k, b] = sin(1 + k + 3b + 5t) / 2, column-major.</summary>
    private static double[] LastOutput<T>(RecurrentModel<T> layer)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        List<Matrix<T>> inputs = Enumerable.Range(0, 3)
            .Select(t => Matrix<T>.Build.Dense(layer.InputSize, 2, (k, b) => T.CreateTruncating(Math.Sin(1 + k + (3 * b) + (5 * t)) / 2))).ToList();
        return layer.Forward(inputs).Output(2).ToColumnMajorArray().Select(double.CreateTruncating).ToArray();
    }
}
