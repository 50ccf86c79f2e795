namespace RnnCore.Samples;

/// <summary>
/// The gradient-health record behind the heatmaps: log10 ‖dL/dh_t‖ for every step t, averaged over windows of
/// consecutive updates, one row per window. Reading a row from right to left shows how much of the loss's gradient
/// still reaches earlier steps: a fall towards t = 0 is a vanishing gradient, a rise an exploding one.
/// </summary>
public sealed class DhNormHistory
{
    private readonly int _steps;
    private readonly int _window;
    private readonly double[] _sum;
    private readonly List<double[]> _rows = [];
    private readonly List<double> _rowPositions = [];
    private int _count;
    private double _lastPosition;

    /// <param name="steps">T, the number of dh norms per update.</param>
    /// <param name="window">Updates averaged into one row.</param>
    public DhNormHistory(int steps, int window)
    {
        _steps = steps;
        _window = Math.Max(1, window);
        _sum = new double[steps];
    }

    public int Rows => _rows.Count;

    /// <summary>Adds one update's dh norms; <paramref name="position"/> labels the row (an epoch, or an update count).</summary>
    public void Add(IReadOnlyList<double> dhNorms, double position)
    {
        for (int t = 0; t < _steps; t++)
        {
            // A norm of exactly zero (a step the loss does not reach) is drawn at the bottom of the scale, not as −∞.
            _sum[t] += Math.Log10(Math.Max(dhNorms[t], 1e-30));
        }

        _lastPosition = position;
        if (++_count == _window)
        {
            Flush();
        }
    }

    /// <summary>Closes a partly filled last window.</summary>
    public void Flush()
    {
        if (_count == 0)
        {
            return;
        }

        _rows.Add(_sum.Select(s => s / _count).ToArray());
        _rowPositions.Add(_lastPosition);
        Array.Clear(_sum);
        _count = 0;
    }

    /// <summary>The rows as a [row, t] grid, and the positions of the first and last row.</summary>
    public (double[,] Grid, double FirstPosition, double LastPosition) ToGrid()
    {
        Flush();
        var grid = new double[_rows.Count, _steps];
        for (int r = 0; r < _rows.Count; r++)
        {
            for (int t = 0; t < _steps; t++)
            {
                grid[r, t] = _rows[r][t];
            }
        }

        return _rows.Count == 0 ? (grid, 0, 0) : (grid, _rowPositions[0], _rowPositions[^1]);
    }
}
