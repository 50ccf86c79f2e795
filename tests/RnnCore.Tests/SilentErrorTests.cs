using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Persistence;
using RnnCore.Tests.Persistence;
using RnnCore.Tests.TestUtilities;
using RnnCore.Tests.Training;
using RnnCore.Training;

namespace RnnCore.Tests;

/// <summary>
/// The errors a new user met without being told (issue 11): each of these passed silently, or said something
/// misleading, before its fix.
/// </summary>
public abstract class SilentErrorTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [Theory]
    [InlineData(HiddenActivation.Relu, OutputActivation.Identity)]
    [InlineData(HiddenActivation.Tanh, OutputActivation.Sigmoid)]
    [InlineData(HiddenActivation.Relu, OutputActivation.Softmax)]
    public void SafeTensors_import_reads_back_the_activations_export_recorded(HiddenActivation hidden, OutputActivation output)
    {
        int outputs = output == OutputActivation.Identity ? 1 : 2;
        var layer = new RecurrentLayer<T>(3, 4, outputs, hidden, output, seed: 3);
        using var stream = new MemoryStream();
        SafeTensors.Export(layer, stream);

        RecurrentLayer<T> imported = (RecurrentLayer<T>)SafeTensors.Import<T>(new MemoryStream(stream.ToArray()));

        (imported.HiddenActivation, imported.OutputActivation).Should().Be((hidden, output));
        List<MathNet.Numerics.LinearAlgebra.Vector<T>> sequence = Enumerable.Range(0, 5).Select(t => MathNet.Numerics.LinearAlgebra.Vector<T>.Build.Dense(3, k => T.CreateTruncating(Math.Sin(t + (2 * k))))).ToList();
        RandomProblems.AllOutputs(imported.Forward(sequence)).Should().Equal(
            RandomProblems.AllOutputs(layer.Forward(sequence)), "the same parameters and activations give the same outputs");

        // Naming the file's own activations is fine too.
        ((RecurrentLayer<T>)SafeTensors.Import<T>(new MemoryStream(stream.ToArray()), hiddenActivation: hidden, outputActivation: output)).OutputActivation.Should().Be(output);
    }

    [Fact]
    public void SafeTensors_import_refuses_activations_that_contradict_the_file()
    {
        var regression = new RecurrentLayer<T>(3, 4, 1, HiddenActivation.Relu, OutputActivation.Identity, seed: 3);
        using var stream = new MemoryStream();
        SafeTensors.Export(regression, stream);
        byte[] file = stream.ToArray();

        ((Action)(() => SafeTensors.Import<T>(new MemoryStream(file), hiddenActivation: HiddenActivation.Relu, outputActivation: OutputActivation.Sigmoid)))
            .Should().Throw<ArgumentException>().WithParameterName("outputActivation").WithMessage("*Sigmoid*file records output_activation 'identity'*");
        ((Action)(() => SafeTensors.Import<T>(new MemoryStream(file), hiddenActivation: HiddenActivation.Tanh)))
            .Should().Throw<ArgumentException>().WithParameterName("hiddenActivation").WithMessage("*Tanh*file records hidden_activation 'relu'*");
    }

    [Fact]
    public void SafeTensors_import_refuses_an_unknown_recorded_activation_and_keeps_defaults_for_files_without_one()
    {
        var layer = new RecurrentLayer<T>(3, 4, 2, HiddenActivation.Relu, OutputActivation.Sigmoid, seed: 3);
        byte[] file = SafeTensors.Serialize(layer);
        byte[] gelu = ReplaceInHeader(file, "\"relu\"", "\"gelu\"");
        ((Action)(() => SafeTensors.Import<T>(new MemoryStream(gelu)))).Should().Throw<ModelFormatException>()
            .Where(e => e.Error == ModelFormatError.Invalid).WithMessage("*hidden_activation 'gelu'*");

        // A file as PyTorch writes it records no activations: tanh and softmax unless told, as before.
        string dtype = typeof(T) == typeof(float) ? "F32" : "F64";
        RecurrentLayer<T> plain = (RecurrentLayer<T>)SafeTensors.Import<T>(new MemoryStream(SafeTensorsTests<T>.Standard(dtype)));
        (plain.HiddenActivation, plain.OutputActivation).Should().Be((HiddenActivation.Tanh, OutputActivation.Softmax));
        SafeTensors.Import<T>(new MemoryStream(SafeTensorsTests<T>.Standard(dtype)), hiddenActivation: HiddenActivation.Relu, outputActivation: OutputActivation.Identity)
            .Options.OutputActivation.Should().Be(OutputActivation.Identity);
    }

    [Fact]
    public void A_softmax_output_with_one_unit_is_refused_with_a_hint_to_use_sigmoid()
    {
        ((Action)(() => _ = new RecurrentLayer<T>(3, 4, 1))).Should().Throw<ArgumentOutOfRangeException>()
            .WithParameterName("outputSize").WithMessage("*softmax*at least 2*OutputActivation.Sigmoid*");
        ((Action)(() => _ = new RecurrentLayer<T>(3, 4, 1, outputActivation: OutputActivation.Softmax))).Should().Throw<ArgumentOutOfRangeException>();
        _ = new RecurrentLayer<T>(3, 4, 1, outputActivation: OutputActivation.Sigmoid);
        _ = new RecurrentLayer<T>(3, 4, 2);
    }

    [Fact]
    public void Files_holding_a_softmax_output_with_one_unit_are_refused()
    {
        // safetensors: a sigmoid model whose metadata says softmax ("sigmoid" and "softmax" have the same length).
        var sigmoid = new RecurrentLayer<T>(3, 4, 1, outputActivation: OutputActivation.Sigmoid, seed: 2);
        byte[] softmax = ReplaceInHeader(SafeTensors.Serialize(sigmoid), "\"sigmoid\"", "\"softmax\"");
        ((Action)(() => SafeTensors.Import<T>(new MemoryStream(softmax)))).Should().Throw<ModelFormatException>()
            .WithMessage("*O = 1*OutputActivation.Sigmoid*");

        // A PyTorch file with one output and no recorded activation: softmax is only the default, so the argument is blamed.
        string dtype = typeof(T) == typeof(float) ? "F32" : "F64";
        byte[] oneOutput = SafeTensorsTests<T>.Build(
            SafeTensorsTests<T>.StandardTensors(dtype).Select(t => t.Name switch
            {
                "fc.weight" => (t.Name, t.DType, new long[] { 1, 4 }, t.Values[..4]),
                "fc.bias" => (t.Name, t.DType, new long[] { 1 }, t.Values[..1]),
                _ => t,
            }).ToArray());
        ((Action)(() => SafeTensors.Import<T>(new MemoryStream(oneOutput)))).Should().Throw<ArgumentException>()
            .WithParameterName("outputActivation").WithMessage("*OutputActivation.Sigmoid*");
        SafeTensors.Import<T>(new MemoryStream(oneOutput), outputActivation: OutputActivation.Sigmoid).OutputSize.Should().Be(1);

        // ModelFile: the output-activation byte of a saved sigmoid model set to softmax, with the checksum made right
        // again, in the current format (byte 24) and in version 1 (byte 22).
        using var saved = new MemoryStream();
        ModelFile.Save(sigmoid, saved);
        foreach ((byte[] model, int at) in new[] { (saved.ToArray(), 24), (ModelFileV1.Serialize(sigmoid, null, null), 22) })
        {
            model[at].Should().Be(2, $"byte {at} is the output activation, 2 = sigmoid");
            model[at] = 3;
            BinaryPrimitives.WriteUInt32LittleEndian(model.AsSpan(model.Length - 4), Crc32COf(model.AsSpan(0, model.Length - 4)));
            ((Action)(() => ModelFile.Load<T>(new MemoryStream(model)))).Should().Throw<ModelFormatException>()
                .Where(e => e.Error == ModelFormatError.Invalid).WithMessage("*softmax*outputSize is 1*OutputActivation.Sigmoid*");
        }
    }

    [Fact]
    public void A_warm_up_schedule_that_starts_at_zero_trains()
    {
        var layer = new RecurrentLayer<T>(2, 4, 3, seed: 1);
        T[][] initial = RandomProblems.Snapshot(layer);
        var random = new Random(3);
        SequenceDataset<T> data = TrainingData.Classes<T>(random, 2, 3, [4, 5, 3, 6]);
        var epochOne = new List<T[][]>();
        var trainer = new Trainer<T>(layer, new AdamOptimizer<T>(0.01), new TrainerOptions
        {
            Epochs = 3,
            BatchSize = 4,
            LearningRateSchedule = new LinearWarmUp(2),
            Callbacks = [new DelegateCallback(onEpoch: _ => { epochOne.Add(RandomProblems.Snapshot(layer)); return TrainingDecision.Continue; })],
        });

        History history = trainer.Fit(data);

        history.Epochs.Select(e => e.LearningRate).Should().Equal(0, 0.005, 0.01);
        epochOne[0].Zip(initial).Should().OnlyContain(p => p.First.SequenceEqual(p.Second), "lr = 0 leaves the parameters where they are");
        RandomProblems.Snapshot(layer).Zip(initial).Should().Contain(p => !p.First.SequenceEqual(p.Second), "epochs 2 and 3 have a positive rate");
    }

    [Fact]
    public void Every_optimizer_accepts_a_learning_rate_of_zero_and_a_checkpoint_keeps_it()
    {
        OptimizerBase<T>[] optimizers = [new SgdOptimizer<T>(0, momentum: 0.9), new AdagradOptimizer<T>(0), new RmsPropOptimizer<T>(0), new AdamOptimizer<T>(0)];
        foreach (OptimizerBase<T> optimizer in optimizers)
        {
            var layer = new RecurrentLayer<T>(2, 3, 2, seed: 4);
            T[][] before = RandomProblems.Snapshot(layer);
            RecurrentGradients<T> gradients = layer.CreateGradients(2, 1);
            for (int p = 0; p < gradients.ParameterGradients.Count; p++)
            {
                gradients.ParameterGradients[p].Fill(T.One);
            }

            optimizer.Step(layer.Parameters, gradients.ParameterGradients);
            RandomProblems.ShouldBeUnchanged(layer, before);

            using var stream = new MemoryStream();
            ModelFile.Save(layer, stream, optimizer);
            ModelFile.LoadCheckpoint<T>(new MemoryStream(stream.ToArray())).OptimizerState!.LearningRate.Should().Be(0);
        }
    }

    [Fact]
    public void One_target_per_sequence_under_an_explicit_EveryStep_placement_says_to_leave_it_unset()
    {
        var random = new Random(3);
        SequenceDataset<T> data = TrainingData.Classes<T>(random, 2, 3, [4, 5], perStep: false);
        var trainer = new Trainer<T>(new RecurrentLayer<T>(2, 4, 3), new SgdOptimizer<T>(0.1), new TrainerOptions { Placement = LossPlacement.EveryStep });
        ((Action)(() => trainer.Fit(data))).Should().Throw<ArgumentException>().WithParameterName("training")
            .WithMessage("*one target*Placement = EveryStep*leave Placement unset*set Placement = LastStep*");
    }

    private static byte[] ReplaceInHeader(byte[] file, string from, string to)
    {
        from.Length.Should().Be(to.Length, "the header length stays the same");
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        string header = Encoding.UTF8.GetString(file, 8, length);
        header.Should().Contain(from);
        byte[] copy = (byte[])file.Clone();
        Encoding.UTF8.GetBytes(header.Replace(from, to, StringComparison.Ordinal)).CopyTo(copy, 8);
        return copy;
    }

    /// <summary>CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), written here independently of the library's.</summary>
    private static uint Crc32COf(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
            }
        }

        return ~crc;
    }

    /// <summary>A warm-up as users write one: 0 at the first epoch, rising linearly to the initial rate.</summary>
    private sealed class LinearWarmUp(int epochs) : LearningRateSchedule
    {
        public override double RateAt(int epoch, double initialRate) => initialRate * Math.Min(epoch, epochs) / epochs;
    }
}

public sealed class SilentErrorTestsDouble : SilentErrorTests<double>;

public sealed class SilentErrorTestsSingle : SilentErrorTests<float>;
