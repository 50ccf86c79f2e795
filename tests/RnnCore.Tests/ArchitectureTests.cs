using System.Text.RegularExpressions;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests;

/// <summary>
/// The folders of src/RnnCore as layers, read from the sources as ../shared/tools/folder-cycles.py reads them: a file
/// that names a type declared in another folder depends on that folder. Every dependency must point down the stack
/// below (a stricter rule than "no cycle"), and every file's namespace must be its folder's.
/// </summary>
public sealed partial class ArchitectureTests
{
    // Lowest first. A folder may use the folders below its own rank, never its own rank's neighbours or anything above.
    private static readonly Dictionary<string, int> Rank = new()
    {
        ["Internal"] = 0,
        ["Kernels"] = 1,
        ["(root)"] = 2, // the shared core types
        ["Activations"] = 3,
        ["Losses"] = 4,
        ["Cells"] = 4,
        ["Optimizers"] = 5,
        ["Models"] = 6, // the network, its cache and its BPTT
        ["Initialization"] = 7,
        ["Generation"] = 7,
        ["Persistence"] = 8,
        ["Training"] = 9,
    };

    private static readonly string Source = Path.Combine(RepositoryPaths.Root, "src", "RnnCore");

    [Fact]
    public void Every_folder_is_a_known_layer()
    {
        Files().Select(Folder).Distinct().Should().OnlyContain(folder => Rank.ContainsKey(folder));
    }

    [Fact]
    public void Folder_dependencies_point_down_the_stack()
    {
        var code = Files().ToDictionary(f => f, f => Strip(File.ReadAllText(f)));
        var declaredIn = new Dictionary<string, HashSet<string>>();
        foreach ((string file, string text) in code)
        {
            foreach (Match m in Declaration().Matches(text))
            {
                (declaredIn.TryGetValue(m.Groups[1].Value, out HashSet<string>? folders) ? folders : declaredIn[m.Groups[1].Value] = []).Add(Folder(file));
            }
        }

        var upward = new List<string>();
        foreach ((string file, string text) in code)
        {
            string from = Folder(file);
            foreach (string name in Identifier().Matches(text).Select(m => m.Value).Distinct())
            {
                foreach (string to in declaredIn.GetValueOrDefault(name) ?? [])
                {
                    if (to != from && Rank[to] >= Rank[from])
                    {
                        upward.Add($"{Path.GetRelativePath(Source, file)} ({from}) names {name} ({to})");
                    }
                }
            }
        }

        upward.Should().BeEmpty("a folder uses only the layers below it");
    }

    [Fact]
    public void Namespaces_follow_folders()
    {
        var wrong = new List<string>();
        foreach (string file in Files())
        {
            string folder = Folder(file);
            string expected = folder == "(root)" ? "RnnCore" : "RnnCore." + folder;
            string actual = NamespaceLine().Match(File.ReadAllText(file)).Groups[1].Value;
            if (actual != expected)
            {
                wrong.Add($"{Path.GetRelativePath(Source, file)}: {actual}, expected {expected}");
            }
        }

        wrong.Should().BeEmpty();
    }

    private static IEnumerable<string> Files() =>
        Directory.EnumerateFiles(Source, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(Source, f).Split(Path.DirectorySeparatorChar).Any(part => part is "obj" or "bin"));

    private static string Folder(string file)
    {
        string[] parts = Path.GetRelativePath(Source, file).Split(Path.DirectorySeparatorChar);
        return parts.Length == 1 ? "(root)" : parts[0];
    }

    // Comments (XML docs included) and string literals name no dependency.
    private static string Strip(string text) =>
        StringLiteral().Replace(LineComment().Replace(BlockComment().Replace(text, string.Empty), string.Empty), "\"\"");

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex BlockComment();

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"@?""(?:[^""\\\n]|\\.)*""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\b(?:class|struct|interface|enum|record|delegate\s+\S+)\s+([A-Z]\w*)")]
    private static partial Regex Declaration();

    [GeneratedRegex(@"\b[A-Z]\w*\b")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"(?m)^namespace\s+([\w.]+)\s*;")]
    private static partial Regex NamespaceLine();
}
