namespace RnnCore.Kernels;

/// <summary>
/// How many threads one product may use, as the kernels read it: the process default and two per-thread overrides (a
/// caller's scope, then the network whose pass runs on this thread). The public face is <see cref="RnnCoreSettings"/>;
/// the state lives here so that the kernels read it without knowing anything above them.
/// </summary>
internal static class KernelParallelism
{
    private static int s_processDegree = Environment.ProcessorCount;

    // Per-thread overrides, 0 when unset.
    [ThreadStatic]
    private static int t_callDegree;

    [ThreadStatic]
    private static int t_networkDegree;

    /// <summary>The process default, at least 1.</summary>
    public static int ProcessDegree
    {
        get => Volatile.Read(ref s_processDegree);
        set => Volatile.Write(ref s_processDegree, value);
    }

    /// <summary>The degree a product started now on this thread uses: the call scope, then the network's, then the process default.</summary>
    public static int Current => t_callDegree != 0 ? t_callDegree : t_networkDegree != 0 ? t_networkDegree : ProcessDegree;

    /// <summary>
    /// Sets this thread's call (or network) override to <paramref name="degree"/> (null keeps the one in force) and returns
    /// the value it replaces; 0 means unset.
    /// </summary>
    public static int Exchange(bool network, int? degree)
    {
        ref int slot = ref network ? ref t_networkDegree : ref t_callDegree;
        int previous = slot;
        slot = degree ?? previous;
        return previous;
    }
}
