using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Persistence;
using RnnCore.Tests.Persistence;

namespace RnnCore.Tests;

/// <summary>
/// The nine promises of issue 12 that the fault probes found broken, one test each: a NaN or infinity is reported where
/// it appears (BPTT, the optimizer step, an import, a save), saves clean up after killed saves, work for long names and
/// through symbolic links, refuse with the exceptions the docs name, and size refusals say sensible things.
/// Each failed against the code before its fix.
/// </summary>
public sealed class HostPromiseTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rnncore-promises-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Promise1_bptt_reports_an_infinite_loss_or_weight_gradient_itself()
    {
        // Identity output, ReLU hidden: the forward stays finite (|a| ≈ 1e30 ≪ 3.4e38), but the squared error (≈ 1e60)
        // and dW_y = dL/dz·hᵀ (≈ 1e60) overflow float; for double, 1e200 inputs do the same.
        Check<float>(1e30f);
        Check(1e200);

        static void Check<T>(T big)
            where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            var layer = new RecurrentLayer<T>(2, 3, 2, HiddenActivation.Relu, OutputActivation.Identity, seed: 1);
            layer.Wx.MapInplace(_ => T.CreateTruncating(0.5));
            layer.Wy.MapInplace(_ => T.CreateTruncating(0.5));
            var inputs = new List<Matrix<T>> { Matrix<T>.Build.Dense(2, 1, big), Matrix<T>.Build.Dense(2, 1, big) };
            ForwardCache<T> cache = layer.Forward(inputs);
            var targets = SequenceTargets<T>.FromValues([Matrix<T>.Build.Dense(2, 1), Matrix<T>.Build.Dense(2, 1)]);
            Action backward = () => new Bptt<T>(layer).Backward(cache, targets);
            backward.Should().Throw<NonFiniteValueException>().Which.Quantity.Should().BeOneOf("loss", "gradient dL/dW_y", "gradient dL/dz_t");
        }
    }

    [Fact]
    public void Promise2_an_optimizer_step_that_would_write_infinite_weights_is_refused_and_changes_nothing()
    {
        var layer = new RecurrentLayer<double>(2, 3, 2, seed: 1);
        double[][] before = Snapshot(layer.Parameters);
        RecurrentGradients<double> gradients = layer.CreateGradients(1, 1);
        gradients.ParameterGradients.Clear();
        for (int p = 0; p < gradients.ParameterGradients.Count; p++)
        {
            gradients.ParameterGradients[p].Fill(10);
        }

        var sgd = new SgdOptimizer<double>(1e308);
        Action step = () => sgd.Step(layer.Parameters, gradients.ParameterGradients);
        step.Should().Throw<NonFiniteValueException>().WithMessage("*Wx*");
        for (int p = 0; p < before.Length; p++)
        {
            layer.Parameters[p].ToArray().Should().Equal(before[p], "a refused step leaves every parameter as it was");
        }

        sgd.StepCount.Should().Be(0);

        // Adam with state: the refused step leaves its moments and step count as they were too.
        var adam = new AdamOptimizer<double>(1e-3);
        gradients.ParameterGradients[0].Fill(1);
        adam.Step(layer.Parameters, gradients.ParameterGradients);
        double[][] afterGood = Snapshot(layer.Parameters);
        OptimizerState<double> state = adam.CaptureState();
        layer.Parameters[4][0] = double.MaxValue;
        gradients.ParameterGradients[4].Fill(-1e300);
        adam.LearningRate = 1e308;
        ((Action)(() => adam.Step(layer.Parameters, gradients.ParameterGradients))).Should().Throw<NonFiniteValueException>();
        adam.StepCount.Should().Be(1);
        adam.LearningRate = 1e-3; // the captured state records the learning rate too
        layer.Parameters[0].ToArray().Should().Equal(afterGood[0]);
        ModelFileStateEquals(adam.CaptureState(), state).Should().BeTrue("the moments are restored");
    }

    [Fact]
    public void Promise3_an_import_whose_two_biases_sum_to_infinity_is_refused()
    {
        var tensors = SafeTensorsTests<double>.StandardTensors("F64");
        tensors[2].Values[1] = 1.5e308;
        tensors[3].Values[1] = 1.5e308;
        string path = Path.Combine(_directory, "overflow.safetensors");
        File.WriteAllBytes(path, SafeTensorsTests<double>.Build(tensors));
        Action import = () => SafeTensors.Import<double>(path);
        import.Should().Throw<ModelFormatException>().WithMessage("*bias_ih_l0 + rnn.bias_hh_l0*element 1*");
    }

    [Fact]
    public void Promise4_a_layer_holding_nan_is_not_saved_over_a_good_file()
    {
        var layer = new RecurrentLayer<float>(2, 3, 2, seed: 1);
        string model = Path.Combine(_directory, "model.rnncore");
        string checkpoint = Path.Combine(_directory, "checkpoint.rnncore");
        string safetensors = Path.Combine(_directory, "model.safetensors");
        string onnx = Path.Combine(_directory, "model.onnx");
        var sgd = new SgdOptimizer<float>(0.1, momentum: 0.9);
        ModelFile.Save(layer, model);
        ModelFile.Save(layer, checkpoint, sgd);
        SafeTensors.Export(layer, safetensors);
        OnnxExport.Save(layer, onnx);
        string[] files = [model, checkpoint, safetensors, onnx];
        byte[][] good = files.Select(File.ReadAllBytes).ToArray();

        layer.Wh[1, 2] = float.NaN;
        ((Action)(() => ModelFile.Save(layer, model))).Should().Throw<ArgumentException>().WithParameterName("network").WithMessage("*Wh*NaN*");
        ((Action)(() => ModelFile.Save(layer, checkpoint, sgd))).Should().Throw<ArgumentException>().WithParameterName("network");
        ((Action)(() => SafeTensors.Export(layer, safetensors))).Should().Throw<ArgumentException>().WithParameterName("network");
        ((Action)(() => OnnxExport.Save(layer, onnx))).Should().Throw<ArgumentException>().WithParameterName("network");
        for (int f = 0; f < files.Length; f++)
        {
            File.ReadAllBytes(files[f]).Should().Equal(good[f], $"{Path.GetFileName(files[f])} is left as it was");
        }

        Directory.GetFiles(_directory).Should().HaveCount(files.Length, "no temporary file is left behind");
        ((RecurrentLayer<float>)ModelFile.Load<float>(model)).Wh[1, 2].Should().Be(new RecurrentLayer<float>(2, 3, 2, seed: 1).Wh[1, 2]);
    }

    [Fact]
    public void Promise5_stale_temporary_files_of_the_same_target_are_removed_by_the_next_save()
    {
        var layer = new RecurrentLayer<float>(2, 3, 2, seed: 1);
        string path = Path.Combine(_directory, "model.rnncore");
        DateTime old = DateTime.UtcNow - TimeSpan.FromHours(1);
        string[] stale = Enumerable.Range(0, 5).Select(_ => Path.Combine(_directory, $".model.rnncore.{Guid.NewGuid():N}.tmp")).ToArray();
        foreach (string file in stale)
        {
            File.WriteAllBytes(file, new byte[1000]);
            File.SetLastWriteTimeUtc(file, old);
        }

        // Kept: a fresh temp (a save of the same target may be writing it), an old one still open by a writer, another
        // target's temp, and a file whose name only looks similar.
        string fresh = Path.Combine(_directory, $".model.rnncore.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(fresh, [1]);
        string open = Path.Combine(_directory, $".model.rnncore.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(open, [1]);
        File.SetLastWriteTimeUtc(open, old);
        string other = Path.Combine(_directory, $".other.rnncore.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(other, [1]);
        File.SetLastWriteTimeUtc(other, old);
        string lookalike = Path.Combine(_directory, ".model.rnncore.notaguid.tmp");
        File.WriteAllBytes(lookalike, [1]);
        File.SetLastWriteTimeUtc(lookalike, old);

        using (new FileStream(open, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            ModelFile.Save(layer, path);
        }

        Directory.GetFiles(_directory).Select(Path.GetFileName).Should().BeEquivalentTo(
            new[] { path, fresh, open, other, lookalike }.Select(Path.GetFileName));
    }

    [Fact]
    public void Concurrent_saves_of_one_target_all_succeed_and_leave_one_whole_file()
    {
        // The stale-file cleanup must never take a temporary file another save is still writing or about to rename.
        string path = Path.Combine(_directory, "shared.rnncore");
        RecurrentLayer<float>[] layers = Enumerable.Range(0, 8).Select(seed => new RecurrentLayer<float>(4, 64, 4, seed: seed)).ToArray();
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            for (int repeat = 0; repeat < 10; repeat++)
            {
                ModelFile.Save(layers[i], path);
            }
        });

        Directory.GetFiles(_directory).Should().Equal(path);
        Matrix<float> saved = ((RecurrentLayer<float>)ModelFile.Load<float>(path)).Wx;
        layers.Should().Contain(layer => layer.Wx.Equals(saved), "the file is one of the saved models, whole");
    }

    [Fact]
    public void Promise6_a_file_system_refusal_comes_as_the_documented_exceptions()
    {
        var layer = new RecurrentLayer<float>(2, 3, 2, seed: 1);

        // A path whose parent is a file: refused with an IOException even for root.
        string file = Path.Combine(_directory, "plain-file");
        File.WriteAllBytes(file, [1]);
        ((Action)(() => ModelFile.Save(layer, Path.Combine(file, "model.rnncore")))).Should().Throw<IOException>();

        // Permission denied comes as UnauthorizedAccessException from .NET; Save wraps it into an IOException that keeps
        // it as the inner exception. Root may write almost anywhere, but not create files in sysfs.
        if (Directory.Exists("/sys/kernel"))
        {
            IOException denied = ((Action)(() => ModelFile.Save(layer, "/sys/kernel/rnncore-model.rnncore"))).Should().Throw<IOException>().Which;
            denied.InnerException.Should().BeOfType<UnauthorizedAccessException>();
            denied.Message.Should().Contain("rnncore-model.rnncore");
            ((Action)(() => SafeTensors.Export(layer, "/sys/kernel/rnncore-model.safetensors"))).Should().Throw<IOException>();
        }
    }

    [Theory]
    [InlineData(217)]
    [InlineData(218)]
    [InlineData(255)]
    public void Promise7_file_names_up_to_255_characters_can_be_saved(int length)
    {
        var layer = new RecurrentLayer<float>(2, 3, 2, seed: 1);
        string name = new string('m', length - ModelFile.Extension.Length) + ModelFile.Extension;
        string path = Path.Combine(_directory, name);
        ModelFile.Save(layer, path);
        ModelFile.Save(layer, path);
        ((RecurrentLayer<float>)ModelFile.Load<float>(path)).Wx.Should().Be(layer.Wx);
        Directory.GetFiles(_directory).Should().Equal(path);
    }

    [Fact]
    public void Promise8_saving_through_a_symbolic_link_writes_the_file_it_points_to()
    {
        string targetDirectory = Directory.CreateDirectory(Path.Combine(_directory, "models")).FullName;
        string target = Path.Combine(targetDirectory, "real.rnncore");
        string link = Path.Combine(_directory, "current.rnncore");
        ModelFile.Save(new RecurrentLayer<float>(2, 3, 2, seed: 1), target);
        File.CreateSymbolicLink(link, Path.Combine("models", "real.rnncore"));

        var second = new RecurrentLayer<float>(2, 3, 2, seed: 2);
        ModelFile.Save(second, link);
        new FileInfo(link).LinkTarget.Should().NotBeNull("the link is still a link");
        ((RecurrentLayer<float>)ModelFile.Load<float>(target)).Wx.Should().Be(second.Wx, "the file it points to holds the new model");
        ((RecurrentLayer<float>)ModelFile.Load<float>(link)).Wx.Should().Be(second.Wx);
        Directory.GetFiles(targetDirectory).Should().Equal(target);

        // A dangling link creates the file it names.
        string dangling = Path.Combine(_directory, "next.rnncore");
        File.CreateSymbolicLink(dangling, Path.Combine(targetDirectory, "next-real.rnncore"));
        ModelFile.Save(second, dangling);
        File.Exists(Path.Combine(targetDirectory, "next-real.rnncore")).Should().BeTrue();
        new FileInfo(dangling).LinkTarget.Should().NotBeNull();
    }

    [Fact]
    public void Promise9_size_refusals_show_a_positive_size_and_advice_that_applies()
    {
        var layer = new RecurrentLayer<double>(3, 4, 2, seed: 1);
        var cache = ((Action)(() => layer.CreateCache(int.MaxValue, int.MaxValue))).Should().Throw<ArgumentOutOfRangeException>().Which;
        cache.Message.Should().NotContain("-").And.Contain("GiB of Double").And.Contain("fewer steps");
        cache.Message.Should().Contain("13,835,058,042,397,261,827 elements", "3 x (2³¹−1)² exactly");

        var huge = ((Action)(() => _ = new RecurrentLayer<float>(3, 50_000, 2))).Should().Throw<ArgumentOutOfRangeException>().Which;
        huge.Message.Should().Contain("Wh").And.Contain("2,500,000,000 elements").And.NotContain("steps").And.Contain("hiddenSize");
    }

    private static double[][] Snapshot(TensorSet<double> set) => Enumerable.Range(0, set.Count).Select(p => set[p].ToArray()).ToArray();

    private static bool ModelFileStateEquals(OptimizerState<double> a, OptimizerState<double> b)
    {
        using var first = new MemoryStream();
        using var second = new MemoryStream();
        var layer = new RecurrentLayer<double>(2, 3, 2, seed: 1);
        var adamA = new AdamOptimizer<double>(1e-3);
        adamA.RestoreState(a);
        var adamB = new AdamOptimizer<double>(1e-3);
        adamB.RestoreState(b);
        ModelFile.Save(layer, first, adamA);
        ModelFile.Save(layer, second, adamB);
        return first.ToArray().AsSpan().SequenceEqual(second.ToArray());
    }
}
