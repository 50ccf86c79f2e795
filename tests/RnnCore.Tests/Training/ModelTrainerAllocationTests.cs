using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Training;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests.Training;

/// <summary>
/// A steady-state training step of a model through the Trainer allocates no more than the layer's does: the bytes one
/// more batch costs, measured as the difference between warmed-up runs of 2 and 10 batches (the fewest bytes of five runs
/// each), less the kernels' pack-buffer pool misses, which depend on what the tests running beside it hold.
/// </summary>
public sealed class ModelTrainerAllocationTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void A_model_batch_allocates_no_more_than_a_layer_batch()
    {
        var random = new Random(4);
        SequenceDataset<double> small = TrainingData.Classes<double>(random, 3, 4, Enumerable.Repeat(6, 8).ToList());
        SequenceDataset<double> large = TrainingData.Classes<double>(random, 3, 4, Enumerable.Repeat(6, 40).ToList());
        var options = new TrainerOptions { Epochs = 1, BatchSize = 4, Shuffle = false, Clipping = Clipping.ByGlobalNorm(1) };
        var layer = new Trainer<double>(new RecurrentLayer<double>(3, 8, 4, seed: 1), new AdamOptimizer<double>(1e-3), options);
        var model = new Trainer<double>(
            new RecurrentModel<double>(new RecurrentModelOptions(3, 8, 4) { Cell = RecurrentCellKind.Lstm, Layers = 2, Dropout = 0.2, Seed = 1 }),
            new AdamOptimizer<double>(1e-3),
            options);

        double layerBytes = PerBatch(layer, small, large);
        double modelBytes = PerBatch(model, small, large);

        output.WriteLine($"bytes per extra batch: layer {layerBytes:F0}, model {modelBytes:F0}");
        modelBytes.Should().BeLessThanOrEqualTo(layerBytes);
    }

    /// <summary>
    /// (bytes of a run of 10 batches − bytes of a run of 2) / 8, after a warm-up of each, each the fewest of five runs:
    /// bytes a batch allocates show in every run, while a one-time event of the runtime (one of about 7.3 KB has been
    /// seen inside a single measured run, as in <see cref="Allocations.OfSteadyState"/>) shows in at most one.
    /// </summary>
    private static double PerBatch(Trainer<double> trainer, SequenceDataset<double> small, SequenceDataset<double> large)
    {
        trainer.Fit(small);
        trainer.Fit(large);
        long smallBytes = long.MaxValue, largeBytes = long.MaxValue;
        for (int run = 0; run < 5; run++)
        {
            smallBytes = Math.Min(smallBytes, Allocations.OfOwnWork(() => trainer.Fit(small)));
            largeBytes = Math.Min(largeBytes, Allocations.OfOwnWork(() => trainer.Fit(large)));
        }

        return (largeBytes - smallBytes) / 8.0;
    }
}
