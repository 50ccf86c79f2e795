using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>
/// The Trainer's memory is bounded by its batch sizes and its longest sequence, not by how many distinct lengths it
/// meets: one cache and one gradient set per batch size, sized to the longest batch and reused for shorter ones.
/// It measures the whole process's retained memory, so it runs in the collection that runs alone: tests running beside
/// it would add their own allocations to the figure.
/// </summary>
[Collection(RnnCore.Tests.Kernels.ProcessSettingsCollection.Name)]
public sealed class TrainerMemoryTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void Memory_stays_flat_over_a_thousand_distinct_lengths()
    {
        // 1,000 distinct lengths 100 … 1,099, in three datasets of 333 or 334 batches of one sequence each; the longest
        // sequence comes first, so the buffers reach their final size in the first batch.
        var random = new Random(12);
        int[] lengths = Enumerable.Range(100, 1000).OrderBy(_ => random.Next()).ToArray();
        int longest = Array.IndexOf(lengths, 1099);
        (lengths[0], lengths[longest]) = (lengths[longest], lengths[0]);
        SequenceDataset<double>[] thirds =
        [
            TrainingData.Classes<double>(random, 2, 3, lengths[..333]),
            TrainingData.Classes<double>(random, 2, 3, lengths[333..666]),
            TrainingData.Classes<double>(random, 2, 3, lengths[666..]),
        ];
        var trainer = new Trainer<double>(
            new RecurrentLayer<double>(2, 4, 3, seed: 1), new SgdOptimizer<double>(0.01), new TrainerOptions { Epochs = 1, BatchSize = 1, Shuffle = false });

        long[] retained = new long[3];
        for (int k = 0; k < 3; k++)
        {
            trainer.Fit(thirds[k]);
            retained[k] = GC.GetTotalMemory(forceFullCollection: true);
        }

        // Before the fix each distinct length kept its own batch buffers, cache and gradients (for I = 2, H = 4, O = 3 in
        // double, about 80 KB for a 600-step batch): measured 48.4, 74.1 and 99.3 MiB after the three thirds, 25 MiB more
        // per 333 lengths. Now they keep nothing new; 1 MiB leaves room for the epoch records and the GC's bookkeeping.
        output.WriteLine($"retained after each third: {string.Join(", ", retained.Select(r => $"{r / 1048576.0:F2} MiB"))}");
        long growth = retained[2] - retained[0];
        growth.Should().BeLessThan(1 << 20, $"retained memory after each third was {string.Join(", ", retained.Select(r => $"{r / 1048576.0:F1} MiB"))}");
    }
}
