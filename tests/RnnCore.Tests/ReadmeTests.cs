using System.Text.RegularExpressions;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests;

/// <summary>The README stays true: its Quick start is the sample's source, and the output it quotes is what it prints.</summary>
[Collection(ConsoleCollection.Name)]
public sealed partial class ReadmeTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "README.md"));

    [Fact]
    public void The_first_csharp_block_is_the_quick_start_sample_verbatim()
    {
        string block = CSharpBlock().Match(Readme).Groups[1].Value;
        string sample = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "samples", "QuickStart", "Program.cs"));
        block.Should().Be(sample);
    }

    [Fact]
    public void The_readme_opens_with_the_main_job_and_the_test_command()
    {
        string[] commands = BashBlock().Match(Readme).Groups[1].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        commands.Should().Equal("dotnet run --project samples/CharRnn -c Release", "dotnet test RnnCore.sln -c Release");
        File.ReadAllText(Path.Combine(RepositoryPaths.Root, ".ci", "run")).Should().Contain(commands[1]);
    }

    [Fact]
    public void The_quick_start_prints_what_the_readme_quotes()
    {
        string quoted = TextBlock().Match(Readme).Groups[1].Value;
        TextWriter saved = Console.Out;
        var output = new StringWriter();
        try
        {
            Console.SetOut(output);
            System.Reflection.Assembly.Load("QuickStart").EntryPoint!.Invoke(null, [Array.Empty<string>()]);
        }
        finally
        {
            Console.SetOut(saved);
        }

        string[] printed = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (string line in quoted.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l != "..."))
        {
            printed.Should().Contain(line);
        }
    }

    [GeneratedRegex("```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex("```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlock();

    [GeneratedRegex("```text\n(epoch 1:.*?)```", RegexOptions.Singleline)]
    private static partial Regex TextBlock();
}

/// <summary>Tests that redirect Console.Out run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "Console";
}
