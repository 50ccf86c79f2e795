using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace RnnCore.Persistence;

/// <summary>
/// Element arrays to and from little-endian bytes, the byte order of every format RnnCore writes (its own, safetensors,
/// ONNX). On little-endian machines (all that .NET supports today) this is a plain copy; the per-element path keeps
/// big-endian machines correct.
/// </summary>
internal static class LittleEndianTensors
{
    /// <summary>The size in bytes of one element of T (4 for float, 8 for double).</summary>
    public static int SizeOf<T>()
        where T : unmanaged => System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    /// <summary>Writes <paramref name="values"/> to the start of <paramref name="destination"/>.</summary>
    public static void Write<T>(ReadOnlySpan<T> values, Span<byte> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(values).CopyTo(destination);
            return;
        }

        int size = SizeOf<T>();
        for (int i = 0; i < values.Length; i++)
        {
            if (size == 4)
            {
                BinaryPrimitives.WriteSingleLittleEndian(destination.Slice(i * 4), float.CreateTruncating(values[i]));
            }
            else
            {
                BinaryPrimitives.WriteDoubleLittleEndian(destination.Slice(i * 8), double.CreateTruncating(values[i]));
            }
        }
    }

    /// <summary>Reads <paramref name="destination"/>.Length elements from the start of <paramref name="source"/>.</summary>
    public static void Read<T>(ReadOnlySpan<byte> source, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int size = SizeOf<T>();
        if (BitConverter.IsLittleEndian)
        {
            source.Slice(0, destination.Length * size).CopyTo(MemoryMarshal.AsBytes(destination));
            return;
        }

        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = size == 4
                ? T.CreateTruncating(BinaryPrimitives.ReadSingleLittleEndian(source.Slice(i * 4)))
                : T.CreateTruncating(BinaryPrimitives.ReadDoubleLittleEndian(source.Slice(i * 8)));
        }
    }
}
