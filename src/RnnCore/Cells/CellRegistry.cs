namespace RnnCore.Cells;

/// <summary>
/// Every cell this build knows, and the one place that lists them: a new cell is one file declaring its
/// <see cref="CellDescription"/> and one entry here. Lookups by kind, by model-file code and by safetensors name.
/// </summary>
internal static class CellRegistry
{
    private static readonly CellDescription[] Cells = [VanillaCell.Description, LstmCell.Description, GruCell.Description, ProjectedLstmCell.Description];

    /// <summary>Every known cell.</summary>
    public static IReadOnlyList<CellDescription> All => Cells;

    /// <summary>
    /// The cell selected by <paramref name="kind"/> and, for a kind with a projected variant, by whether a projection size
    /// P is given (<c>RecurrentModelOptions.ProjectionSize</c>): LSTM with P is the LSTM with projections.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">No cell of this build has that kind (with a projection, when P is given).</exception>
    public static CellDescription Of(RecurrentCellKind kind, int? projectionSize = null) =>
        Array.Find(Cells, c => c.Kind == kind && c.HasProjection == projectionSize.HasValue)
        ?? throw new ArgumentOutOfRangeException(
            nameof(kind),
            kind,
            projectionSize.HasValue
                ? $"a projection size P = {projectionSize} was given; expected a kind with projections ({Join(Cells.Where(c => c.HasProjection).Select(c => c.Kind.ToString()))})."
                : $"expected {string.Join(", ", Cells.Select(c => c.Kind).Distinct())}.");

    /// <summary>The cell whose model-file code is <paramref name="code"/>, or null when this build knows none.</summary>
    public static CellDescription? ByFileCode(int code) => Array.Find(Cells, c => c.FileCode == code);

    /// <summary>The cell a safetensors file's metadata names <paramref name="name"/>, or null when this build knows none.</summary>
    public static CellDescription? BySafeTensorsName(string name) => Array.Find(Cells, c => c.SafeTensorsName == name);

    /// <summary>The known codes for a message: "1 (vanilla), 2 (LSTM) or 3 (GRU)".</summary>
    public static string FileCodes => Join(Cells.Select(c => $"{c.FileCode} ({c.DisplayName})"));

    /// <summary>The known safetensors names for a message: "'rnn', 'lstm' or 'gru'".</summary>
    public static string SafeTensorsNames => Join(Cells.Select(c => $"'{c.SafeTensorsName}'"));

    /// <summary>"a, b or c".</summary>
    public static string Join(IEnumerable<string> items)
    {
        string[] all = items.ToArray();
        return all.Length == 1 ? all[0] : string.Join(", ", all[..^1]) + " or " + all[^1];
    }
}
