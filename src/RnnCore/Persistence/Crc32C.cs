namespace RnnCore.Persistence;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of iSCSI, ext4 and SSE4.2's crc32 instruction: it detects every error burst of up
/// to 32 bits, so any single changed byte, and any run of up to four, is always caught. Written here (a table and a
/// loop) rather than taken from System.IO.Hashing so that the library keeps MathNet.Numerics as its only dependency.
/// It protects against accidents, not against tampering.
/// </summary>
internal static class Crc32C
{
    // The reflected Castagnoli polynomial 0x1EDC6F41.
    private const uint Polynomial = 0x82F63B78u;

    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC-32C of <paramref name="data"/> ("123456789" gives 0xE3069283).</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static uint[] BuildTable()
    {
        uint[] table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? Polynomial ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}
