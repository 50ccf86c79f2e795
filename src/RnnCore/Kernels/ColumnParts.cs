using System.Runtime.CompilerServices;

namespace RnnCore.Kernels;

/// <summary>
/// Element-wise work over the columns of a block, split between the kernel workers by column ranges: the work a caller
/// would otherwise do on one thread between two products while the other cores wait. The caller's
/// <see cref="IColumnWork"/> must treat each column on its own, so the result does not depend on the split.
/// </summary>
/// <remarks>
/// The block is cut into ranges of about <see cref="PartElements"/> elements, more ranges than threads when it is
/// large, and the threads claim them one at a time (<see cref="KernelWorkers"/>): on a busy machine a worker that is
/// descheduled inside a range holds up that range only, not half of the block.
/// </remarks>
internal static unsafe class ColumnParts
{
    /// <summary>The fewest elements per part: below, handing a part to a worker costs about what the part saves.</summary>
    internal const int PartElements = 16 * 1024;

    /// <summary>
    /// Runs <paramref name="work"/> over columns [0, <paramref name="columns"/>): in one call on this thread when the
    /// block holds fewer than two <see cref="PartElements"/> or one thread is allowed, otherwise in contiguous ranges of
    /// at least <see cref="PartElements"/> elements (at most one per column) on the calling thread and up to
    /// <see cref="KernelParallelism.Current"/> − 1 idle workers. <paramref name="work"/> must be a local variable of
    /// the caller (its address is handed to the workers for the duration of the call). An exception from any range is
    /// rethrown here.
    /// </summary>
    public static void Run<TWork>(ref TWork work, int columns, int elementsPerColumn)
        where TWork : struct, IColumnWork, allows ref struct
    {
        long elements = (long)columns * elementsPerColumn;
        int parts = (int)Math.Min(columns, Math.Max(1, elements / PartElements));
        int threads = Math.Min(KernelParallelism.Current, parts);
        if (threads <= 1)
        {
            work.Run(0, columns);
            return;
        }

        var job = new Job
        {
            Work = Unsafe.AsPointer(ref work),
            Function = &Invoke<TWork>,
            Columns = columns,
            Parts = parts,
        };
        KernelWorkers.Run(&RunPart, &job, parts, threads);
    }

    private static void Invoke<TWork>(void* work, int firstColumn, int columnCount)
        where TWork : struct, IColumnWork, allows ref struct
        => Unsafe.AsRef<TWork>(work).Run(firstColumn, columnCount);

    private static void RunPart(void* state, int part)
    {
        Job* job = (Job*)state;
        int first = (int)((long)job->Columns * part / job->Parts);
        int end = (int)((long)job->Columns * (part + 1) / job->Parts);
        if (end > first)
        {
            job->Function(job->Work, first, end - first);
        }
    }

    private struct Job
    {
        public void* Work;
        public delegate*<void*, int, int, void> Function;
        public int Columns;
        public int Parts;
    }
}

/// <summary>Work that <see cref="ColumnParts"/> runs over a range of columns, each column on its own.</summary>
internal interface IColumnWork
{
    /// <summary>Does the work for columns [<paramref name="firstColumn"/>, firstColumn + <paramref name="columnCount"/>).</summary>
    void Run(int firstColumn, int columnCount);
}
