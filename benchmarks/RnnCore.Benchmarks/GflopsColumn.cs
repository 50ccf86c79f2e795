using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace RnnCore.Benchmarks;

/// <summary>GFLOP/s = the case's floating-point operations over its median time (GEMM shapes and training-step configs).</summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);

    public string ColumnName => "GFLOP/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Floating-point operations per second, in billions, from the median";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? flops = benchmarkCase.Parameters.Items.Select(p => p.Value switch
        {
            GemmShape shape => shape.Flops,
            // A forward pass is one of the step's three products per weight (forward, two backward): a third of its FLOPs.
            RnnConfig config => benchmarkCase.Descriptor.WorkloadMethod.Name == nameof(TrainStepBenchmarks<float>.Forward)
                ? config.TrainingStepFlops / 3
                : config.TrainingStepFlops,
            CellCase cell => cell.Config.ModelStepFlops(cell.Cell switch { "lstm" => 4, "gru" => 3, _ => 1 }, cell.Layers, cell.Bidirectional ? 2 : 1)
                / (benchmarkCase.Descriptor.WorkloadMethod.Name == nameof(CellTrainStepBenchmarks<float>.Forward) ? 3 : 1),
            _ => (double?)null,
        }).FirstOrDefault(f => f is not null);
        BenchmarkReport? report = summary[benchmarkCase];
        double? medianNs = report?.ResultStatistics?.Median;
        return flops is null || medianNs is null or 0 ? "-" : (flops.Value / medianNs.Value).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
