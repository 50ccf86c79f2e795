using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.ML.OnnxRuntime;

namespace RnnCore.Tests.TestUtilities;

/// <summary>
/// ONNX Runtime's log, captured instead of printed. Its environment is a process-wide singleton that takes a logging
/// function only when it is created, so this module initializer creates it, before any test can touch ONNX Runtime,
/// with a function that records every message with the log id of the session that wrote it. A test gives its session
/// a unique <see cref="SessionOptions.LogId"/> and reads back what ONNX Runtime logged for that session alone, so
/// tests running beside it cannot change the result.
/// </summary>
internal static class OnnxRuntimeLog
{
    private static readonly ConcurrentQueue<(OrtLoggingLevel Severity, string LogId, string Message)> Messages = new();

    // Kept in a field: ONNX Runtime holds only a native pointer to it.
    private static readonly DOrtLoggingFunction Function = Record;

#pragma warning disable CA2255 // A module initializer is the one place that runs before every test, as the singleton requires.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Install()
    {
        var options = new EnvironmentCreationOptions
        {
            logId = "RnnCore.Tests",
            logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
            loggingFunction = Function,
        };
        if (!OrtEnv.IsCreated)
        {
            OrtEnv.CreateInstanceWithOptions(ref options);
            IsInstalled = true;
        }
    }

    /// <summary>True when this process's environment records messages (created here, not elsewhere first).</summary>
    public static bool IsInstalled { get; private set; }

    /// <summary>The messages of at least <paramref name="severity"/> that ONNX Runtime logged under <paramref name="logId"/>.</summary>
    public static IReadOnlyList<string> For(string logId, OrtLoggingLevel severity)
        => Messages.Where(m => m.LogId == logId && m.Severity >= severity).Select(m => $"{m.Severity}: {m.Message}").ToArray();

    private static void Record(IntPtr param, OrtLoggingLevel severity, string category, string logId, string codeLocation, string message)
        => Messages.Enqueue((severity, logId, message));
}
