using System.Text.RegularExpressions;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests;

/// <summary>
/// The README is also the NuGet package's readme (PackageReadmeFile), shown on the package page, where a relative link
/// or picture points nowhere. So every link in it is an absolute address, and those into this repository name files
/// that exist. The pages of docs/ are read on the repository's site, where relative links work: those must resolve.
/// </summary>
public sealed partial class ReadmeLinkTests
{
    private static readonly string Root = RepositoryPaths.Root;

    [Fact]
    public void The_package_readme_is_the_repository_readme()
    {
        string project = File.ReadAllText(Path.Combine(Root, "src", "RnnCore", "RnnCore.csproj"));
        project.Should().Contain("<PackageReadmeFile>README.md</PackageReadmeFile>")
            .And.Contain("<None Include=\"../../README.md\" Pack=\"true\" PackagePath=\"/\" />");
    }

    [Fact]
    public void Every_readme_link_is_absolute_so_that_it_works_on_the_package_page()
    {
        string[] links = Links(Read("README.md")).ToArray();
        links.Should().NotBeEmpty();
        foreach (string link in links)
        {
            link.Should().MatchRegex("^https://", $"the package page cannot follow the relative link '{link}'");
        }
    }

    [Fact]
    public void Every_readme_link_into_the_repository_names_a_file_that_exists()
    {
        string repository = RepositoryUrl();
        string blob = repository + "/blob/main/";
        string raw = repository.Replace("https://github.com/", "https://raw.githubusercontent.com/", StringComparison.Ordinal) + "/main/";
        int checkedLinks = 0;
        foreach (string link in Links(Read("README.md")))
        {
            string? path = link.StartsWith(blob, StringComparison.Ordinal) ? link[blob.Length..]
                : link.StartsWith(raw, StringComparison.Ordinal) ? link[raw.Length..]
                : null;
            if (path is null)
            {
                link.Should().NotStartWith(repository, $"a link into the repository is {blob}PATH or {raw}PATH");
                continue;
            }

            path = path.Split('#')[0];
            RequireFile(path, $"the README links {link}");
            checkedLinks++;
        }

        checkedLinks.Should().BeGreaterThan(5);
    }

    [Fact]
    public void Readme_pictures_come_from_raw_file_addresses()
    {
        // A github.com/.../blob/... address serves an HTML page, which the package page cannot show as a picture.
        foreach (Match image in Image().Matches(Read("README.md")))
        {
            image.Groups["url"].Value.Should().StartWith("https://raw.githubusercontent.com/");
        }
    }

    [Fact]
    public void The_readme_links_every_page_of_the_docs()
    {
        string readme = Read("README.md");
        string blob = RepositoryUrl() + "/blob/main/";
        IEnumerable<string> pages = Directory.GetFiles(Path.Combine(Root, "docs"), "*.md")
            .Select(p => "docs/" + Path.GetFileName(p))
            .Where(p => p != "docs/README.md");
        foreach (string page in pages)
        {
            readme.Should().Contain($"({blob}{page})", $"the README's documentation table links {page}");
        }
    }

    [Fact]
    public void Relative_links_in_the_docs_resolve_inside_the_repository()
    {
        string[] pages = Directory.GetFiles(Path.Combine(Root, "docs"), "*.md");
        pages.Should().NotBeEmpty();
        foreach (string page in pages)
        {
            foreach (string link in Links(File.ReadAllText(page)))
            {
                if (link.StartsWith("https://", StringComparison.Ordinal) || link.StartsWith("http://", StringComparison.Ordinal)
                    || link.StartsWith('#'))
                {
                    continue;
                }

                string target = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, link.Split('#')[0]));
                string relative = Path.GetRelativePath(Root, target).Replace('\\', '/');
                relative.Should().NotStartWith("..", $"{Path.GetFileName(page)} links '{link}', outside the repository (describe it instead)");
                RequireFile(relative, $"{Path.GetFileName(page)} links '{link}'");
            }
        }
    }

    [Fact]
    public void The_link_finder_sees_inline_links_pictures_and_references()
    {
        string sample = "see [a](docs/a.md) and ![b](https://x/b.png), [c][r] <img src=\"d.png\"> `[not](code)`\n[r]: e.md\n";
        Links(sample).Should().BeEquivalentTo(["docs/a.md", "https://x/b.png", "d.png", "e.md"]);
    }

    private static void RequireFile(string path, string because)
    {
        string full = Path.Combine(Root, path.TrimEnd('/'));

        (File.Exists(full) || Directory.Exists(full)).Should().BeTrue($"{because}, so {path} must exist in the repository");
    }

    private static string Read(string path) => File.ReadAllText(Path.Combine(Root, path));

    private static string RepositoryUrl()
    {
        string project = File.ReadAllText(Path.Combine(Root, "src", "RnnCore", "RnnCore.csproj"));
        Match url = RepositoryUrlProperty().Match(project);
        url.Success.Should().BeTrue("the package needs a RepositoryUrl for the README's absolute links");
        return url.Groups[1].Value.TrimEnd('/');
    }

    /// <summary>Every link target of a Markdown text, outside code: inline links and pictures, references, HTML src/href.</summary>
    private static IEnumerable<string> Links(string markdown)
    {
        string prose = InlineCode().Replace(FencedCode().Replace(markdown, ""), "");
        foreach (Match m in InlineLink().Matches(prose))
        {
            yield return m.Groups["url"].Value;
        }

        foreach (Match m in ReferenceDefinition().Matches(prose))
        {
            yield return m.Groups["url"].Value;
        }

        foreach (Match m in HtmlLink().Matches(prose))
        {
            yield return m.Groups["url"].Value;
        }
    }

    [GeneratedRegex("```.*?```", RegexOptions.Singleline)]
    private static partial Regex FencedCode();

    [GeneratedRegex("`[^`\n]*`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"!?\[[^\]]*\]\((?<url>[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex InlineLink();

    [GeneratedRegex(@"^\s*\[[^\]]+\]:\s*(?<url>\S+)", RegexOptions.Multiline)]
    private static partial Regex ReferenceDefinition();

    [GeneratedRegex(@"<(?:img|a)\s[^>]*(?:src|href)=""(?<url>[^""]+)""")]
    private static partial Regex HtmlLink();

    [GeneratedRegex(@"!\[[^\]]*\]\((?<url>[^)\s]+)\)")]
    private static partial Regex Image();

    [GeneratedRegex("<RepositoryUrl>(.*?)</RepositoryUrl>")]
    private static partial Regex RepositoryUrlProperty();
}
