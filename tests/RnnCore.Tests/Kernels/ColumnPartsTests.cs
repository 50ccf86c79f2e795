using RnnCore.Kernels;

namespace RnnCore.Tests.Kernels;

/// <summary>
/// <see cref="ColumnParts"/> hands every column to exactly one part, in as many contiguous ranges as
/// <see cref="ColumnParts.PartElements"/> allows (one range on one thread), and brings a part's exception back to the
/// caller. The ranges are
/// recorded by first column, so the checks do not depend on which thread ran which range.
/// </summary>
[Collection(ProcessSettingsCollection.Name)]
public sealed class ColumnPartsTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(64, 1024, 1)]
    [InlineData(64, 1024, 2)]
    [InlineData(64, 1024, 3)]
    [InlineData(7, 16 * 1024, 3)]
    [InlineData(1000, 32, 2)]
    [InlineData(1000, 100, 4)]
    [InlineData(3, 100_000, 8)]
    [InlineData(64, 1280, 2)]
    [InlineData(64, 1280, 1)]
    public void Every_column_runs_once_in_the_expected_number_of_contiguous_ranges(int columns, int elementsPerColumn, int threads)
    {
        int[] runs = new int[columns];
        int[] rangeLengths = new int[columns];
        using (RnnCoreSettings.UseDegreeOfParallelism(threads))
        {
            var work = new CountingWork { Runs = runs, RangeLengths = rangeLengths };
            ColumnParts.Run(ref work, columns, elementsPerColumn);
        }

        runs.Should().AllSatisfy(count => count.Should().Be(1));
        long parts = Math.Min(columns, Math.Max(1, (long)columns * elementsPerColumn / ColumnParts.PartElements));
        long expectedParts = threads == 1 ? 1 : parts;
        int[] starts = Enumerable.Range(0, columns).Where(j => rangeLengths[j] > 0).ToArray();
        starts.Should().HaveCount((int)expectedParts);
        int next = 0;
        foreach (int start in starts)
        {
            start.Should().Be(next, "the ranges are contiguous and in order");
            next = start + rangeLengths[start];
        }

        next.Should().Be(columns);
    }

    [Fact]
    public void An_exception_from_a_range_is_rethrown_on_the_caller()
    {
        using (RnnCoreSettings.UseDegreeOfParallelism(2))
        {
            var work = new ThrowingWork { FailingColumn = 63 };
            Action run = () => ColumnParts.Run(ref work, 64, 1024);
            run.Should().Throw<InvalidOperationException>().WithMessage("column 63");
        }
    }

    private struct CountingWork : IColumnWork
    {
        public int[] Runs;
        public int[] RangeLengths;

        public readonly void Run(int firstColumn, int columnCount)
        {
            RangeLengths[firstColumn] = columnCount;
            for (int j = firstColumn; j < firstColumn + columnCount; j++)
            {
                Interlocked.Increment(ref Runs[j]);
            }
        }
    }

    private struct ThrowingWork : IColumnWork
    {
        public int FailingColumn;

        public readonly void Run(int firstColumn, int columnCount)
        {
            if (FailingColumn >= firstColumn && FailingColumn < firstColumn + columnCount)
            {
                throw new InvalidOperationException($"column {FailingColumn}");
            }
        }
    }
}
