using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Kernels;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Tests.Kernels;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Models;

/// <summary>
/// A model's whole training step is bit-identical on 1, 2 and 3 threads: with H = 64, B = 32 the input projections, the
/// recurrent products and the weight-gradient GEMMs are large enough to be split between threads. With chunks of 64
/// columns BPTT walks the 5 steps in two time chunks and sums the weight gradients over them, the same way on every count.
/// With B = 128 or 256 each BPTT step's element-wise work (<see cref="BackwardStepColumns{T}"/>) is split by columns too,
/// in one direction (the top layer reading the head's dL/do in place) and in two.
/// </summary>
[Collection(ProcessSettingsCollection.Name)]
public abstract class ModelParallelTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [Theory]
    [InlineData(RecurrentCellKind.Lstm, 1024)]
    [InlineData(RecurrentCellKind.Gru, 1024)]
    [InlineData(RecurrentCellKind.Vanilla, 1024)]
    [InlineData(RecurrentCellKind.Lstm, 64)]
    [InlineData(RecurrentCellKind.Lstm, 1024, 24)]
    [InlineData(RecurrentCellKind.Lstm, 64, 24)]
    [InlineData(RecurrentCellKind.Vanilla, 1024, 0, 256, false)]
    [InlineData(RecurrentCellKind.Lstm, 1024, 0, 128, false)]
    [InlineData(RecurrentCellKind.Gru, 1024, 0, 128, false)]
    [InlineData(RecurrentCellKind.Lstm, 256, 0, 128, true)]
    [InlineData(RecurrentCellKind.Gru, 1024, 0, 128, true)]
    [InlineData(RecurrentCellKind.Lstm, 1024, 0, 128, true, true)]
    [InlineData(RecurrentCellKind.Vanilla, 1024, 0, 256, false, true)]
    public void Training_steps_give_identical_bits_on_one_two_and_three_threads(
        RecurrentCellKind cell, int chunkColumns, int projection = 0, int batch = 32, bool bidirectional = true, bool padded = false)
    {
        int before = RnnCoreSettings.MaxDegreeOfParallelism;
        try
        {
            T[][]? first = null;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                RnnCoreSettings.MaxDegreeOfParallelism = threads;
                List<T[]> all = TwoTrainingSteps(cell, chunkColumns, projection, batch, bidirectional, padded);
                first ??= all.ToArray();
                for (int i = 0; i < all.Count; i++)
                {
                    all[i].Should().Equal(first[i], $"array {i} with {threads} threads");
                }
            }
        }
        finally
        {
            RnnCoreSettings.MaxDegreeOfParallelism = before;
        }
    }

    /// <summary>
    /// With the workers held back, a split call's parts run on the caller one after the other, in order: the order in
    /// which part 0 of a top LSTM layer's first step of a chunk would write its δu over the head's dL/do of part 1's
    /// columns before part 1 reads it, had that step been split. It stays whole, and the bits are the one-thread bits.
    /// </summary>
    [Theory]
    [InlineData(RecurrentCellKind.Lstm)]
    [InlineData(RecurrentCellKind.Gru)]
    public void Parts_run_in_order_on_the_caller_give_the_one_thread_bits(RecurrentCellKind cell)
    {
        int before = RnnCoreSettings.MaxDegreeOfParallelism;
        using var gate = new ManualResetEventSlim(false);
        try
        {
            RnnCoreSettings.MaxDegreeOfParallelism = 1;
            List<T[]> serial = TwoTrainingSteps(cell, 1024, 0, 128, false, false);
            RnnCoreSettings.MaxDegreeOfParallelism = 2;
            KernelWorkers.AdaptToLoad = false;
            KernelWorkers.WorkerArrived = gate.Wait;
            List<T[]> inOrder = TwoTrainingSteps(cell, 1024, 0, 128, false, false);
            for (int i = 0; i < serial.Count; i++)
            {
                inOrder[i].Should().Equal(serial[i], $"array {i}");
            }
        }
        finally
        {
            gate.Set();
            KernelWorkers.WorkerArrived = null;
            KernelWorkers.AdaptToLoad = true;
            RnnCoreSettings.MaxDegreeOfParallelism = before;
        }
    }

    /// <summary>
    /// Two Adam steps of a 2-layer model (H = 64, 5 steps) from a fixed seed, <paramref name="padded"/>: sequences of 1 to
    /// 5 steps; returns the losses, outputs, dL/dh_0 and parameters.
    /// </summary>
    private static List<T[]> TwoTrainingSteps(RecurrentCellKind cell, int chunkColumns, int projection, int batch, bool bidirectional, bool padded)
    {
        const int Steps = 5;
        var random = new Random(8);
        var model = new RecurrentModel<T>(ModelProblems.Options(cell, 2, bidirectional, OutputActivation.Softmax, inputSize: 20, hiddenSize: 64, outputSize: 10, dropout: 0.1, seed: 4)
            with { ProjectionSize = projection == 0 ? null : projection });
        List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, 20, Steps, batch);
        SequenceTargets<T> targets = ModelProblems.Targets(random, model, Steps, batch, LossPlacement.EveryStep);
        int[]? lengths = padded ? Enumerable.Range(0, batch).Select(j => 1 + (j % Steps)).ToArray() : null;
        var bptt = new Bptt<T>(model, LossPlacement.EveryStep, LossReduction.Mean) { ChunkColumns = chunkColumns };
        var optimizer = new AdamOptimizer<T>(0.01);
        ForwardCache<T> cache = model.CreateCache(Steps, batch);
        RecurrentGradients<T> gradients = model.CreateGradients(Steps, batch);
        var all = new List<T[]>();
        for (int step = 0; step < 2; step++)
        {
            model.Forward(inputs, cache, lengths: lengths, training: true);
            T loss = bptt.Backward(cache, targets, gradients);
            optimizer.Step(model.Parameters, gradients.ParameterGradients);
            all.Add([loss]);
            all.Add(Enumerable.Range(0, Steps).SelectMany(t => cache.Output(t).ToColumnMajorArray()).ToArray());
            all.Add(gradients.InitialHiddenData.SelectMany(x => x).ToArray());
        }

        all.AddRange(Enumerable.Range(0, model.Parameters.Count).Select(i => model.Parameters[i].ToArray()));
        return all;
    }
}

public sealed class ModelParallelTestsSingle : ModelParallelTests<float>;

public sealed class ModelParallelTestsDouble : ModelParallelTests<double>;
