using System.CommandLine;

namespace RnnCore.Samples;

/// <summary>
/// Runs a sample's root command so that every failure the user can cause ends as one line on stderr and a non-zero
/// exit code: parse errors (an unknown option, a value that is not a number) exit 2, failures while running exit 1.
/// </summary>
public static class SampleCommandLine
{
    public const int UsageError = 2;
    public const int RunError = 1;

    public static int Run(string sampleName, RootCommand command, string[] args)
    {
        ParseResult parsed = command.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // System.CommandLine would print every error and then the whole help; one line says it and points to --help.
            Console.Error.WriteLine($"{sampleName}: {OneLine(parsed.Errors[0].Message)} (see --help)");
            return UsageError;
        }

        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception exception)
        {
            // Every exception reaches the user as its message: a file that is missing, a checkpoint of another model,
            // an option out of range. The stack trace would say nothing they can act on.
            Console.Error.WriteLine($"{sampleName}: error: {OneLine(exception.Message)}");
            return RunError;
        }
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries));
}
