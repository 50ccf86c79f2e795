using System.Runtime.CompilerServices;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using RnnCore.Benchmarks;

// Every benchmark class in this assembly is reachable by filter, e.g.
//   dotnet run -c Release --project benchmarks/RnnCore.Benchmarks -- --filter '*TrainStep*'
// and a dry job (`--job dry`) runs each benchmark once without timing, which is what CI does.
// `--peer-step [S,M,L,XL]` instead times the training step the way ../shared/peers/*_rnn_step.py do (see PeerStep.cs),
// for the side-by-side table that benchmarks/compare-with-peers.sh prints.
if (args.Length > 0 && args[0] == "--peer-step")
{
    return PeerStep.Run(args.Skip(1).ToArray());
}

// Where the step's time goes: benchmarks/profile_step.py samples a --peer-step run with perf (the real step, nothing
// re-implemented beside it).

// `--gemm` times every GEMM shape as benchmarks/openblas_gemm.py times OpenBLAS (GemmTable.cs).
if (args.Length > 0 && args[0] == "--gemm")
{
    return GemmTable.Run(args.Skip(1).ToArray());
}

// `--fma-peak` measures the cores' FMA peak now, the denominator of "percent of peak" (FmaPeak.cs).
if (args.Length > 0 && args[0] == "--fma-peak")
{
    return FmaPeak.Run(args.Skip(1).ToArray());
}

return RunBenchmarkDotNet(args);

// In a method of its own, so that --peer-step and --gemm never load BenchmarkDotNet and its dependencies (the JIT
// loads the assemblies of the types a method names when it compiles that method): their processes then hold only what
// the step needs, which is what /usr/bin/time's maxrss of a --peer-step run measures.
[MethodImpl(MethodImplOptions.NoInlining)]
static int RunBenchmarkDotNet(string[] args)
{
    IConfig config = DefaultConfig.Instance
        .AddColumn(StatisticColumn.Median, new GflopsColumn())
        .WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(40));
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
    return 0;
}
