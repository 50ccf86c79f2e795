using BenchmarkDotNet.Running;

// Every benchmark class in this assembly is reachable by filter, e.g.
//   dotnet run -c Release --project benchmarks/RnnCore.Benchmarks -- --filter '*TrainStep*'
// and a dry job (`--job dry`) runs each benchmark once without timing, which is what CI does.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
