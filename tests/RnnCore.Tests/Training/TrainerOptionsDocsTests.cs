using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using RnnCore.Tests.TestUtilities;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>The guide's table of <see cref="TrainerOptions"/> lists every option with the default the class really has.</summary>
public sealed class TrainerOptionsDocsTests
{
    [Fact]
    public void The_guide_lists_every_option_with_its_actual_default()
    {
        string[] lines = File.ReadAllLines(Path.Combine(RepositoryPaths.Root, "docs", "guide.md"));
        int header = Array.FindIndex(lines, l => l.StartsWith("| Option | Default |", StringComparison.Ordinal));
        header.Should().BeGreaterThan(0, "docs/guide.md has the options table");
        var documented = new Dictionary<string, string>();
        foreach (string line in lines.Skip(header + 2).TakeWhile(l => l.StartsWith('|')))
        {
            string[] cells = line.Split('|', StringSplitOptions.TrimEntries);
            documented.Add(cells[1].Trim('`'), cells[2].Trim('`'));
        }

        var defaults = new TrainerOptions();
        PropertyInfo[] options = typeof(TrainerOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<EditorBrowsableAttribute>()?.State != EditorBrowsableState.Never).ToArray();
        documented.Keys.Should().BeEquivalentTo(options.Select(p => p.Name), "every option is in the table, and only options");
        foreach (PropertyInfo option in options)
        {
            documented[option.Name].Should().Be(Format(option.PropertyType, option.GetValue(defaults)), $"the default of {option.Name}");
        }
    }

    /// <summary>A default as the table writes it: a C# literal, an enum member, an empty list, or the static property it is.</summary>
    private static string Format(Type type, object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        IFormattable number when value is int or long or double => number.ToString(value is double ? "R" : null, CultureInfo.InvariantCulture),
        Enum e => $"{e.GetType().Name}.{e}",
        System.Collections.ICollection { Count: 0 } => "[]",
        _ => type.GetProperties(BindingFlags.Public | BindingFlags.Static).FirstOrDefault(p => p.PropertyType == type && ReferenceEquals(p.GetValue(null), value)) is PropertyInfo named
            ? $"{type.Name}.{named.Name}"
            : throw new InvalidOperationException($"no way to write a default of type {type.Name} in the table"),
    };
}
