namespace RnnCore.Tests.TestUtilities;

/// <summary>Locates the repository root (the folder holding RnnCore.sln) from the test binaries.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RnnCore.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"RnnCore.sln not found above {AppContext.BaseDirectory}.");
    }
}
