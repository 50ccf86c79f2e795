using System.Buffers.Binary;
using System.Numerics;

namespace RnnCore.Persistence;

/// <summary>
/// Sequential little-endian reads of a model file that refuse, with a format error (never an index exception), to read
/// past the end.
/// </summary>
internal ref struct SpanReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public readonly long Remaining => _data.Length - _position;

    public void Skip(int count) => Take(count, "header");

    public byte Byte(string what) => Take(1, what)[0];

    public ushort UInt16(string what) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, what));

    public uint UInt32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));

    public ulong UInt64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, what));

    public long Int64(string what) => BinaryPrimitives.ReadInt64LittleEndian(Take(8, what));

    public double Double(string what) => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, what));

    public ReadOnlySpan<byte> Bytes(int count, string what) => Take(count, what);

    /// <summary>A size field: positive, and small enough that its products stay in range.</summary>
    public int Size(string what)
    {
        uint value = UInt32(what);
        if (value == 0 || value > int.MaxValue)
        {
            throw ModelFile.Invalid($"size {what} is {value}; it must be between 1 and {int.MaxValue}.");
        }

        return (int)value;
    }

    public T[] Elements<T>(int count, string what)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long bytes = (long)count * LittleEndianTensors.SizeOf<T>();
        if (bytes > Remaining)
        {
            throw ModelFile.Invalid($"{what} needs {bytes:N0} bytes but only {Remaining:N0} remain.");
        }

        T[] values = new T[count];
        LittleEndianTensors.Read(Take((int)bytes, what), values.AsSpan());
        return values;
    }

    private ReadOnlySpan<byte> Take(int count, string what)
    {
        if (count > Remaining)
        {
            throw ModelFile.Invalid($"the file ends inside field '{what}'.");
        }

        ReadOnlySpan<byte> slice = _data.Slice(_position, count);
        _position += count;
        return slice;
    }
}
