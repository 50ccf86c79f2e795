using System.Text;

namespace RnnCore.Persistence;

/// <summary>
/// Writes a file so that a crash at any moment leaves either the old file or the complete new one, never a mix: the
/// bytes go to a temporary file in the same directory (so the rename stays on one file system), are flushed to the
/// disk, and the temporary file then replaces the target in one rename. The directory entry itself is not flushed
/// (.NET has no portable way to fsync a directory), so after a power loss the rename may be undone, leaving the old
/// file: never a broken one.
/// </summary>
/// <remarks>
/// <para>
/// Symbolic links: when the path is a link (or a chain of them), the file it finally points to is replaced, with the
/// temporary file beside it; the link itself is kept. A dangling link creates the file it names.
/// </para>
/// <para>
/// Temporary files are named <c>.NAME.&lt;32 hex digits&gt;.tmp</c>; for a name too long for that to fit in 255 bytes,
/// NAME is shortened and followed by <c>~</c> and a CRC-32C of the whole name. A save killed before its rename leaves
/// its temporary file behind; every save first removes the temporary files of the same target that are older than
/// <see cref="StaleAge"/> and that no process holds open (the writer holds its temporary file with an exclusive lock
/// until it is complete, and renames it a moment after closing it), so a concurrent save of the same target is never
/// disturbed and killed saves cannot pile up.
/// </para>
/// <para>
/// Errors: everything the file system refuses comes as an <see cref="IOException"/> (a missing directory as its
/// subclass <see cref="DirectoryNotFoundException"/>): .NET's <see cref="UnauthorizedAccessException"/> (permission
/// denied, a read-only file system) and the <see cref="ArgumentOutOfRangeException"/> it throws for a file-size limit
/// are wrapped in one, with the original as <see cref="Exception.InnerException"/>. The target is then unchanged and the
/// temporary file removed.
/// </para>
/// </remarks>
internal static class AtomicFile
{
    /// <summary>How old a temporary file of the same target must be (last written) before a save removes it.</summary>
    internal static readonly TimeSpan StaleAge = TimeSpan.FromMinutes(1);

    /// <summary>The longest file name (in UTF-8 bytes) common file systems accept.</summary>
    private const int MaxNameBytes = 255;

    /// <summary>The temporary name's additions to the prefix: 32 hex digits and ".tmp".</summary>
    private const int SuffixBytes = 32 + 4;

    /// <summary>
    /// Test hook: called with the temporary path after it is written and flushed, before the rename, to simulate a
    /// crash there. Thread-static so that tests running in parallel do not see each other's hooks.
    /// </summary>
    [ThreadStatic]
    internal static Action<string>? BeforeRename;

    /// <summary>Replaces (or creates) <paramref name="path"/> (or the file a link there points to) with <paramref name="data"/>, atomically.</summary>
    /// <exception cref="IOException">The file system refused the write; the target is unchanged.</exception>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string temporary = string.Empty;
        try
        {
            string target = ResolveTarget(Path.GetFullPath(path));
            string directory = Path.GetDirectoryName(target)
                ?? throw new ArgumentException($"path '{path}' names no file.", nameof(path));
            string prefix = TemporaryPrefix(Path.GetFileName(target));
            RemoveStaleTemporaries(directory, prefix);
            temporary = Path.Combine(directory, $"{prefix}{Guid.NewGuid():N}.tmp");
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(data);

                // Flush through the OS cache: after a power loss the rename must not point at unwritten blocks.
                stream.Flush(flushToDisk: true);
            }

            BeforeRename?.Invoke(temporary);
            File.Move(temporary, target, overwrite: true);
        }
        catch (UnauthorizedAccessException e)
        {
            TryDelete(temporary);
            throw new IOException($"Saving '{path}' was refused: {e.Message}", e);
        }
        catch (ArgumentOutOfRangeException e)
        {
            // .NET reports EFBIG (a file-size limit such as ulimit -f) this way.
            TryDelete(temporary);
            throw new IOException($"Saving '{path}' ({data.Length:N0} bytes) was refused by the file system: {e.Message}", e);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>The path itself, or, for a symbolic link, the file at the end of its chain of links.</summary>
    internal static string ResolveTarget(string fullPath)
    {
        var info = new FileInfo(fullPath);
        if (info.LinkTarget is null)
        {
            return fullPath;
        }

        return info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? fullPath;
    }

    /// <summary>
    /// <c>.NAME.</c>, or for a long name <c>.SHORTENED~CRC.</c>, so that with 32 hex digits and <c>.tmp</c> the
    /// temporary name stays within 255 UTF-8 bytes, and the stale files of one target can be told from another's.
    /// </summary>
    internal static string TemporaryPrefix(string name)
    {
        string prefix = $".{name}.";
        if (Encoding.UTF8.GetByteCount(prefix) + SuffixBytes <= MaxNameBytes)
        {
            return prefix;
        }

        // "." + shortened + "~" + 8 hex digits + "." + suffix ≤ 255.
        int budget = MaxNameBytes - SuffixBytes - 11;
        int length = 0, bytes = 0;
        while (length < name.Length)
        {
            int step = char.IsSurrogatePair(name, length) ? 2 : 1;
            int size = Encoding.UTF8.GetByteCount(name.AsSpan(length, step));
            if (bytes + size > budget)
            {
                break;
            }

            bytes += size;
            length += step;
        }

        uint crc = Crc32C.Compute(Encoding.UTF8.GetBytes(name));
        return $".{name[..length]}~{crc:x8}.";
    }

    /// <summary>Removes this target's temporary files left by killed saves: old enough, and held open by no one.</summary>
    private static void RemoveStaleTemporaries(string directory, string prefix)
    {
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(directory, "*.tmp");
        }
        catch (IOException)
        {
            return; // The write below reports the directory's problem.
        }
        catch (UnauthorizedAccessException)
        {
            return;
        }

        DateTime cutoff = DateTime.UtcNow - StaleAge;
        foreach (string file in candidates)
        {
            string name = Path.GetFileName(file);
            if (!IsTemporaryOf(name, prefix))
            {
                continue;
            }

            try
            {
                if (File.GetLastWriteTimeUtc(file) > cutoff)
                {
                    continue; // Perhaps a save in progress.
                }

                // An exclusive open fails while a writer holds the file (FileShare.None locks it); one that succeeds
                // deletes the file when it closes.
                using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException)
            {
                // In use, or already removed by another save: leave it.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static bool IsTemporaryOf(string name, string prefix)
    {
        if (name.Length != prefix.Length + SuffixBytes || !name.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (char c in name.AsSpan(prefix.Length, 32))
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return false;
            }
        }

        return true;
    }

    private static void TryDelete(string path)
    {
        if (path.Length == 0)
        {
            return;
        }

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
