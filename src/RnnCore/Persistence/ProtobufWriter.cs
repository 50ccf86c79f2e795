using System.Text;

namespace RnnCore.Persistence;

/// <summary>
/// The few pieces of the protocol-buffers wire format that an ONNX file needs, written by hand so that the library does
/// not depend on a protobuf package: varints (wire type 0) and length-delimited bytes,
/// strings and nested messages (type 2). Each message is built into its own writer and embedded with its length.
/// </summary>
internal sealed class ProtobufWriter
{
    private readonly MemoryStream _buffer = new();

    /// <summary>The bytes written so far.</summary>
    public byte[] ToArray() => _buffer.ToArray();

    /// <summary>An integer field (int32, int64, enum, bool) as a varint; negative values take ten bytes, as protobuf requires.</summary>
    public ProtobufWriter Int(int field, long value)
    {
        Tag(field, 0);
        Varint(unchecked((ulong)value));
        return this;
    }

    /// <summary>A string field, UTF-8.</summary>
    public ProtobufWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>A bytes field.</summary>
    public ProtobufWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, 2);
        Varint((ulong)value.Length);
        _buffer.Write(value);
        return this;
    }

    /// <summary>An embedded message field, built by <paramref name="build"/>.</summary>
    public ProtobufWriter Message(int field, Action<ProtobufWriter> build)
    {
        var inner = new ProtobufWriter();
        build(inner);
        return Bytes(field, inner._buffer.GetBuffer().AsSpan(0, (int)inner._buffer.Length));
    }

    private void Tag(int field, int wireType) => Varint(((ulong)field << 3) | (uint)wireType);

    private void Varint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        _buffer.WriteByte((byte)value);
    }
}
