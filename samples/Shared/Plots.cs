using ScottPlot;

namespace RnnCore.Samples;

/// <summary>
/// One line on a chart: its name, x values and y values; lines with the same <paramref name="Group"/> share a colour
/// (the group's index in the palette; −1 gives each line its own), and a dashed line marks a "before".
/// </summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, int Group = -1, bool Dashed = false);

/// <summary>The PNG pictures the samples draw, with ScottPlot: line charts, dh-norm heatmaps and confusion matrices.</summary>
public static class Plots
{
    private const int Width = 1000;
    private const int Height = 600;

    /// <summary>Draws lines (and optional dashed horizontal reference lines) and saves a PNG.</summary>
    public static void Lines(
        string path,
        string title,
        string xLabel,
        string yLabel,
        IReadOnlyList<Series> series,
        IReadOnlyList<(string Name, double Y)>? references = null,
        Alignment legend = Alignment.UpperRight,
        (double Bottom, double Top)? yLimits = null)
    {
        var plot = new Plot();
        IPalette palette = new ScottPlot.Palettes.Category10();
        foreach (Series line in series)
        {
            var scatter = plot.Add.ScatterLine(line.X.ToArray(), line.Y.ToArray());
            scatter.LegendText = line.Name;
            scatter.LineWidth = 2;
            if (line.Group >= 0)
            {
                scatter.Color = palette.GetColor(line.Group);
            }

            if (line.Dashed)
            {
                scatter.LinePattern = LinePattern.Dashed;
            }
        }

        foreach ((string name, double y) in references ?? [])
        {
            var reference = plot.Add.HorizontalLine(y);
            reference.LegendText = name;
            reference.LinePattern = LinePattern.Dashed;
            reference.LineWidth = 2;
            reference.Color = Colors.Black;
        }

        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(legend);
        if (yLimits is { } limits)
        {
            plot.Axes.SetLimitsY(limits.Bottom, limits.Top);
        }

        Save(plot, path);
    }

    /// <summary>
    /// Draws <paramref name="values"/>[row, column] as a heatmap with a colour bar: columns along x from
    /// <paramref name="xRange"/>, rows along y from <paramref name="yRange"/> (row 0 at the bottom). NaN cells are blank.
    /// </summary>
    public static void Heatmap(
        string path,
        string title,
        string xLabel,
        string yLabel,
        string colourLabel,
        double[,] values,
        (double First, double Last) xRange,
        (double First, double Last) yRange)
    {
        var plot = new Plot();
        int rows = values.GetLength(0);
        int columns = values.GetLength(1);

        // ScottPlot draws row 0 at the top; flip so that time (epochs) runs upwards like the y axis.
        var flipped = new double[rows, columns];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                flipped[rows - 1 - r, c] = values[r, c];
            }
        }

        var heatmap = plot.Add.Heatmap(flipped);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();

        // Each cell is centred on its coordinate: extend half a cell beyond the first and last.
        double halfX = columns > 1 ? (xRange.Last - xRange.First) / (columns - 1) / 2 : 0.5;
        double halfY = rows > 1 ? (yRange.Last - yRange.First) / (rows - 1) / 2 : 0.5;
        var extent = new CoordinateRect(xRange.First - halfX, xRange.Last + halfX, yRange.First - halfY, yRange.Last + halfY);
        heatmap.Extent = extent;

        var colourBar = plot.Add.ColorBar(heatmap);
        colourBar.Label = colourLabel;
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.Axes.SetLimits(extent);
        Save(plot, path);
    }

    /// <summary>
    /// Draws a confusion matrix: row r is the true class, column c the predicted one; each cell is coloured by the share
    /// of row r's items predicted as c (so classes of different sizes compare) and labelled with its count.
    /// </summary>
    public static void Confusion(string path, string title, IReadOnlyList<string> labels, int[,] counts)
    {
        int n = labels.Count;
        if (counts.GetLength(0) != n || counts.GetLength(1) != n)
        {
            throw new ArgumentException($"counts must be {n} x {n} (one row and column per label), but was {counts.GetLength(0)} x {counts.GetLength(1)}.", nameof(counts));
        }

        var plot = new Plot();

        // ScottPlot draws row 0 of the data at the top, as a confusion matrix is read: true classes down, predicted across.
        var shares = new double[n, n];
        for (int r = 0; r < n; r++)
        {
            double total = Enumerable.Range(0, n).Sum(c => counts[r, c]);
            for (int c = 0; c < n; c++)
            {
                shares[r, c] = total > 0 ? counts[r, c] / total : double.NaN;
            }
        }

        var heatmap = plot.Add.Heatmap(shares);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.Extent = new CoordinateRect(0, n - 1, 0, n - 1); // this ScottPlot version places the corner cells' centres here
        for (int r = 0; r < n; r++)
        {
            for (int c = 0; c < n; c++)
            {
                // Cell (r, c) is drawn at x = c, y = n - 1 - r (row 0 on top).
                var label = plot.Add.Text(counts[r, c].ToString(System.Globalization.CultureInfo.InvariantCulture), c, n - 1 - r);
                label.LabelFontSize = 16;
                label.LabelFontColor = shares[r, c] > 0.5 ? Colors.Black : Colors.White;
                label.LabelAlignment = Alignment.MiddleCenter;
            }
        }

        var colourBar = plot.Add.ColorBar(heatmap);
        colourBar.Label = "share of the true class";
        double[] positions = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.SetTicks(positions, labels.ToArray());
        plot.Axes.Left.SetTicks(positions, labels.Reverse().ToArray());
        plot.Title(title);
        plot.XLabel("predicted");
        plot.YLabel("true");
        plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        Save(plot, path);
    }

    private static void Save(Plot plot, string path)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }

        plot.SavePng(path, Width, Height);
    }
}
