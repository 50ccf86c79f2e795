namespace RnnCore.Samples.Tests;

/// <summary>Tests that redirect Console.Out and Console.Error run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "Console";
}

/// <summary>Runs an action with stdout and stderr captured; returns what each received.</summary>
public static class ConsoleCapture
{
    public static (T Result, string Out, string Error) Run<T>(Func<T> action)
    {
        TextWriter savedOut = Console.Out;
        TextWriter savedError = Console.Error;
        var output = new StringWriter();
        var error = new StringWriter();
        try
        {
            Console.SetOut(output);
            Console.SetError(error);
            T result = action();
            return (result, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(savedOut);
            Console.SetError(savedError);
        }
    }

    /// <summary>Calls a sample's Main (top-level statements) with <paramref name="args"/>; returns its exit code.</summary>
    public static (int ExitCode, string Out, string Error) RunMain(System.Reflection.Assembly sample, params string[] args) =>
        Run(() => (int)sample.EntryPoint!.Invoke(null, [args])!);
}
