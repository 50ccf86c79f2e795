using RnnCore.Tests.TestUtilities;
using static RnnCore.Tests.Reference.ReferenceTests;

namespace RnnCore.Tests.Reference;

/// <summary>
/// The token reference cases committed in <c>tests/RnnCore.Tests/Reference/tokens</c> (PyTorch 1.13 float64: an
/// nn.Embedding with a padding id in front of a two-layer bidirectional GRU and LSTM, sequences of different lengths;
/// made by <c>Reference/scripts/make_token_cases.py</c>), run by the cells' runner in double and in float.
/// </summary>
public sealed class TokenReferenceTests
{
    public static string TokensDirectory => Path.Combine(RepositoryPaths.Root, "tests", "RnnCore.Tests", "Reference", "tokens");

    public static TheoryData<string, Precision> Cases() => CasesIn(TokensDirectory);

    [Fact]
    public void The_committed_cases_are_found() => Cases().Count.Should().Be(4, "two files, double and float");

    [Theory]
    [MemberData(nameof(Cases))]
    public void TokenReference(string @case, Precision precision) => CellsReferenceTests.Run(TokensDirectory, @case, precision);
}
