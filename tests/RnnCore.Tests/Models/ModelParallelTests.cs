using System.Numerics;
using MathNet.Numerics.LinearAlgebra;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Tests.Kernels;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Models;

/// <summary>
/// A model's whole training step is bit-identical on 1, 2 and 3 threads: with H = 64, B = 32 the input projections, the
/// recurrent products and the weight-gradient GEMMs are large enough to be split between threads. With chunks of 64
/// columns BPTT walks the 5 steps in two time chunks and sums the weight gradients over them, the same way on every count.
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
    public void Training_steps_give_identical_bits_on_one_two_and_three_threads(RecurrentCellKind cell, int chunkColumns, int projection = 0)
    {
        const int Steps = 5, Batch = 32;
        int before = RnnCoreSettings.MaxDegreeOfParallelism;
        try
        {
            T[][]? first = null;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                RnnCoreSettings.MaxDegreeOfParallelism = threads;
                var random = new Random(8);
                var model = new RecurrentModel<T>(ModelProblems.Options(cell, 2, true, OutputActivation.Softmax, inputSize: 20, hiddenSize: 64, outputSize: 10, dropout: 0.1, seed: 4)
                    with { ProjectionSize = projection == 0 ? null : projection });
                List<Matrix<T>> inputs = RandomProblems.Inputs<T>(random, 20, Steps, Batch);
                SequenceTargets<T> targets = ModelProblems.Targets(random, model, Steps, Batch, LossPlacement.EveryStep);
                var bptt = new Bptt<T>(model, LossPlacement.EveryStep, LossReduction.Mean) { ChunkColumns = chunkColumns };
                var optimizer = new AdamOptimizer<T>(0.01);
                ForwardCache<T> cache = model.CreateCache(Steps, Batch);
                RecurrentGradients<T> gradients = model.CreateGradients(Steps, Batch);
                var all = new List<T[]>();
                for (int step = 0; step < 2; step++)
                {
                    model.Forward(inputs, cache, training: true);
                    T loss = bptt.Backward(cache, targets, gradients);
                    optimizer.Step(model.Parameters, gradients.ParameterGradients);
                    all.Add([loss]);
                    all.Add(Enumerable.Range(0, Steps).SelectMany(t => cache.Output(t).ToColumnMajorArray()).ToArray());
                    all.Add(gradients.InitialHiddenData.SelectMany(x => x).ToArray());
                }

                all.AddRange(Enumerable.Range(0, model.Parameters.Count).Select(i => model.Parameters[i].ToArray()));
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
}

public sealed class ModelParallelTestsSingle : ModelParallelTests<float>;

public sealed class ModelParallelTestsDouble : ModelParallelTests<double>;
