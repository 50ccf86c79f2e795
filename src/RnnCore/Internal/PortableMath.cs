namespace RnnCore.Internal;

/// <summary>
/// Functions computed with IEEE 754 basic operations only (+, −, ×, ÷, which every conforming machine rounds
/// identically), for results that must be bit-identical on every machine and runtime. <see cref="Math.Log(double)"/>
/// comes from the platform's C library, which .NET does not promise to round the same way everywhere.
/// </summary>
internal static class PortableMath
{
    // ln 2 split as in fdlibm: Ln2Hi has 32 trailing zero bits, so exponent · Ln2Hi is exact for any double exponent.
    private const double Ln2Hi = 6.93147180369123816490e-01;
    private const double Ln2Lo = 1.90821492927058770002e-10;
    private const double Sqrt2 = 1.41421356237309504880;

    /// <summary>
    /// The natural logarithm of a positive normal double, to within about one ulp:
    /// x = m · 2^e with m in [√2/2, √2), and <c>ln m = 2 atanh(s) = 2 (s + s³/3 + s⁵/5 + …)</c> with
    /// <c>s = (m − 1)/(m + 1)</c>, |s| ≤ 0.172, so 14 terms leave a truncation error below 1e-20.
    /// </summary>
    public static double Log(double x)
    {
        if (!double.IsNormal(x) || x < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(x), x, "PortableMath.Log needs a positive normal double.");
        }

        long bits = BitConverter.DoubleToInt64Bits(x);
        int exponent = (int)((bits >> 52) & 0x7FF) - 1023;
        double m = BitConverter.Int64BitsToDouble((bits & 0x000FFFFFFFFFFFFFL) | 0x3FF0000000000000L); // in [1, 2)
        if (m > Sqrt2)
        {
            m *= 0.5;
            exponent++;
        }

        double s = (m - 1) / (m + 1);
        double s2 = s * s;
        const int Terms = 14;
        double series = 1.0 / ((2 * Terms) + 1);
        for (int k = Terms - 1; k >= 0; k--)
        {
            series = (series * s2) + (1.0 / ((2 * k) + 1));
        }

        return (exponent * Ln2Hi) + ((exponent * Ln2Lo) + (2 * s * series));
    }
}
