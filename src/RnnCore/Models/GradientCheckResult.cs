using System.Globalization;
using System.Text;

namespace RnnCore.Models;

/// <summary>The outcome of <see cref="GradientCheck"/>.Run: one entry per tensor.</summary>
public sealed class GradientCheckResult
{
    internal GradientCheckResult(IReadOnlyList<GradientCheckEntry> entries, double epsilon)
    {
        Entries = entries;
        Epsilon = epsilon;
    }

    /// <summary>One entry for each of Wx, Wh, Wy, Bh, By and h0, in that order.</summary>
    public IReadOnlyList<GradientCheckEntry> Entries { get; }

    /// <summary>The perturbation ε used for the central differences.</summary>
    public double Epsilon { get; }

    /// <summary>The worst relative error over every tensor.</summary>
    public double WorstRelativeError => Entries.Max(e => e.WorstRelativeError);

    /// <summary>The entry for a tensor by name.</summary>
    /// <param name="name"><c>Wx</c>, <c>Wh</c>, <c>Wy</c>, <c>Bh</c>, <c>By</c> or <c>h0</c>.</param>
    public GradientCheckEntry this[string name] => Entries.Single(e => e.Name == name);

    /// <summary>A table: tensor, elements, worst relative error, where, and kinks skipped.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (GradientCheckEntry e in Entries)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{e.Name,-3} n={e.Count,-5} worst relative error {e.WorstRelativeError:E2} at [{e.WorstIndex}] (analytic {e.Analytic:G6}, numeric {e.Numeric:G6}), kinks skipped {e.SkippedAtKinks}");
        }

        return text.ToString();
    }
}
