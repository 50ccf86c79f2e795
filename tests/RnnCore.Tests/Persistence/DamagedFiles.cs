using System.Diagnostics;
using RnnCore.Persistence;

namespace RnnCore.Tests.Persistence;

/// <summary>
/// What every loader-robustness test needs around a damaged file: a load that returns the refusal (or null when the
/// file loaded) and fails on any other exception or on an allocation far beyond the file's size, and a hang guard.
/// </summary>
internal static class DamagedFiles
{
    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(60);

    /// <summary>Runs <paramref name="load"/> on the file; returns its ModelFormatException, or null when it loaded.</summary>
    public static ModelFormatException? Load(byte[] file, bool seekable, Action<Stream> load)
    {
        using Stream stream = seekable ? new MemoryStream(file) : new NonSeekableStream(file);
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            load(stream);
            return null;
        }
        catch (ModelFormatException e)
        {
            return e;
        }
        finally
        {
            RequireBoundedAllocation(GC.GetAllocatedBytesForCurrentThread() - before, file.Length);
        }
    }

    /// <summary>Fails when loading a file of <paramref name="fileLength"/> bytes allocated far more than the file.</summary>
    public static void RequireBoundedAllocation(long allocated, int fileLength)
    {
        // The file, the parsed tensors, a table's names and the model are a few copies of the file, plus messages and
        // JSON: far below what a forged size would cost (megabytes to gigabytes).
        long limit = (32L * fileLength) + (256 * 1024);
        if (allocated > limit)
        {
            throw new Xunit.Sdk.XunitException($"loading a {fileLength}-byte file allocated {allocated:N0} bytes (limit {limit:N0}).");
        }
    }

    /// <summary>Runs the body on another thread and fails if it has not finished within the hang limit.</summary>
    public static void RunWithinLimit(Action body)
    {
        var watch = Stopwatch.StartNew();
        Task task = Task.Run(body);
        task.Wait(HangLimit).Should().BeTrue($"the loaders must not hang (gave up after {HangLimit.TotalSeconds} s)");
        task.GetAwaiter().GetResult();
        watch.Elapsed.Should().BeLessThan(HangLimit);
    }
}
