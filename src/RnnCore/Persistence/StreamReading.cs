namespace RnnCore.Persistence;

/// <summary>
/// Reads a declared number of bytes without trusting the declaration: the buffer grows with the bytes that actually
/// arrive, so a forged size field in a short file cannot make a loader allocate gigabytes.
/// </summary>
internal static class StreamReading
{
    // Small enough that a forged length costs little before the stream runs dry, large enough to read fast.
    private const int Chunk = 16 * 1024;

    /// <summary>
    /// Reads exactly <paramref name="count"/> bytes, or throws <see cref="ModelFormatException"/> (truncated) naming
    /// <paramref name="what"/> when the stream ends first.
    /// </summary>
    public static byte[] ReadExactly(Stream stream, long count, string what)
    {
        if (count > Array.MaxLength)
        {
            throw new ModelFormatException(
                ModelFormatError.Invalid, $"{what} declares {count:N0} bytes, more than one .NET array can hold ({Array.MaxLength:N0}).");
        }

        // A seekable stream tells us up front whether the bytes are there.
        if (stream.CanSeek)
        {
            long remaining = stream.Length - stream.Position;
            if (remaining < count)
            {
                throw Truncated(what, count, remaining);
            }

            byte[] whole = new byte[count];
            int read = stream.ReadAtLeast(whole, whole.Length, throwOnEndOfStream: false);
            return read == whole.Length ? whole : throw Truncated(what, count, read);
        }

        // Otherwise allocate chunk by chunk as the data arrives.
        using var collected = new MemoryStream();
        byte[] buffer = new byte[(int)Math.Clamp(count, 1, Chunk)];
        long total = 0;
        while (total < count)
        {
            int wanted = (int)Math.Min(buffer.Length, count - total);
            int read = stream.Read(buffer, 0, wanted);
            if (read == 0)
            {
                throw Truncated(what, count, total);
            }

            collected.Write(buffer, 0, read);
            total += read;
        }

        return collected.ToArray();
    }

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes; returns how many arrived before the stream ended.</summary>
    public static int ReadUpTo(Stream stream, Span<byte> buffer) => stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);

    private static ModelFormatException Truncated(string what, long expected, long actual) =>
        new(ModelFormatError.Truncated, $"the file is truncated: {what} needs {expected:N0} more bytes but only {actual:N0} are present.");
}
