namespace RnnCore.Persistence;

/// <summary>
/// Writes a file so that a crash at any moment leaves either the old file or the complete new one, never a mix: the
/// bytes go to a temporary file in the same directory (so the rename stays on one file system), are flushed to the
/// disk, and the temporary file then replaces the target in one rename. The directory entry itself is not flushed
/// (.NET has no portable way to fsync a directory), so after a power loss the rename may be undone, leaving the old
/// file: never a broken one.
/// </summary>
internal static class AtomicFile
{
    /// <summary>
    /// Test hook: called with the temporary path after it is written and flushed, before the rename, to simulate a
    /// crash there. Thread-static so that tests running in parallel do not see each other's hooks.
    /// </summary>
    [ThreadStatic]
    internal static Action<string>? BeforeRename;

    /// <summary>Replaces (or creates) <paramref name="path"/> with <paramref name="data"/>, atomically.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)
            ?? throw new ArgumentException($"path '{path}' names no file.", nameof(path));
        string temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(data);

                // Flush through the OS cache: after a power loss the rename must not point at unwritten blocks.
                stream.Flush(flushToDisk: true);
            }

            BeforeRename?.Invoke(temporary);
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the original exception is the one that matters.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
