using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using RnnCore.Models;
using RnnCore.Persistence;

namespace RnnCore.Benchmarks;

/// <summary>
/// Online inference, one step of one stream (B = 1): RnnCore's stream API against ONNX Runtime running the same model,
/// exported with <see cref="OnnxExportOptions.InitialStates"/>, one step per call with the states fed back (in the same
/// process, ONNX Runtime's intra-op threads = RnnCore's degree of parallelism). Vanilla, LSTM and GRU, one layer, at
/// H = 64, 256 and 1024, I = 64, O = 16, float. benchmarks/pytorch_cell_step.py times PyTorch's cells the same way.
/// <code>
/// dotnet run -c Release --project benchmarks/RnnCore.Benchmarks -- --filter '*StreamStep*' --job short
/// </code>
/// </summary>
[MemoryDiagnoser]
public class StreamStepBenchmarks
{
    public const int InputSize = 64, OutputSize = 16;

    private RecurrentStreams<float> _streams = null!;
    private float[] _input = null!, _output = null!;
    private InferenceSession _session = null!;
    private RunOptions _runOptions = null!;
    private OrtValue[][] _inputs = null!, _outputs = null!;
    private string[] _inputNames = null!, _outputNames = null!;
    private OrtValue[] _owned = null!;
    private int _turn;

    [Params(RecurrentCellKind.Vanilla, RecurrentCellKind.Lstm, RecurrentCellKind.Gru)]
    public RecurrentCellKind Cell { get; set; }

    [Params(64, 256, 1024)]
    public int Hidden { get; set; }

    /// <summary>RnnCore's degree of parallelism and ONNX Runtime's intra-op threads.</summary>
    [Params(1)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var model = new RecurrentModel<float>(new RecurrentModelOptions(InputSize, Hidden, OutputSize) { Cell = Cell, Seed = 1 })
        {
            MaxDegreeOfParallelism = Threads,
        };
        _streams = model.OpenStreams(1);
        var random = new Random(1);
        _input = Enumerable.Range(0, InputSize).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        _output = new float[OutputSize];

        using var options = new SessionOptions
        {
            IntraOpNumThreads = Threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(OnnxExport.Serialize(model, new OnnxExportOptions { InitialStates = true }), options);
        _runOptions = new RunOptions();

        // Two sets of state buffers, ping-ponged: a call reads the states one set holds and writes the other's.
        bool lstm = Cell == RecurrentCellKind.Lstm;
        float[][] hidden = [new float[Hidden], new float[Hidden]];
        float[][] cell = [new float[Hidden], new float[Hidden]];
        OrtValue x = OrtValue.CreateTensorValueFromMemory(_input, [1, 1, InputSize]);
        OrtValue y = OrtValue.CreateTensorValueFromMemory(_output, [1, 1, OutputSize]);
        OrtValue[] h = [OrtValue.CreateTensorValueFromMemory(hidden[0], [1, 1, Hidden]), OrtValue.CreateTensorValueFromMemory(hidden[1], [1, 1, Hidden])];
        OrtValue[] c = [OrtValue.CreateTensorValueFromMemory(cell[0], [1, 1, Hidden]), OrtValue.CreateTensorValueFromMemory(cell[1], [1, 1, Hidden])];
        _owned = [x, y, .. h, .. c];
        _inputNames = lstm ? [OnnxExport.InputName, OnnxExport.InitialHiddenName, OnnxExport.InitialCellName] : [OnnxExport.InputName, OnnxExport.InitialHiddenName];
        _outputNames = lstm ? [OnnxExport.OutputName, OnnxExport.FinalHiddenName, OnnxExport.FinalCellName] : [OnnxExport.OutputName, OnnxExport.FinalHiddenName];
        _inputs = [lstm ? [x, h[0], c[0]] : [x, h[0]], lstm ? [x, h[1], c[1]] : [x, h[1]]];
        _outputs = [lstm ? [y, h[1], c[1]] : [y, h[1]], lstm ? [y, h[0], c[0]] : [y, h[0]]];

        // Both compute the same thing: three steps of each agree to float precision (the states are fed back right).
        for (int t = 0; t < 3; t++)
        {
            float[] expected = _streams.Step(0, _input);
            OnnxRuntimeStep();
            double worst = expected.Zip(_output).Max(p => Math.Abs(p.First - p.Second));
            if (worst > 1e-4)
            {
                throw new InvalidOperationException($"ONNX Runtime's step {t} differs from the stream's by {worst}.");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _session.Dispose();
        _runOptions.Dispose();
        foreach (OrtValue value in _owned)
        {
            value.Dispose();
        }
    }

    [Benchmark(Baseline = true, Description = "RnnCore stream step")]
    public float RnnCoreStep()
    {
        _streams.Step(0, _input, _output);
        return _output[0];
    }

    [Benchmark(Description = "ONNX Runtime step")]
    public float OnnxRuntimeStep()
    {
        int turn = _turn;
        _session.Run(_runOptions, _inputNames, _inputs[turn], _outputNames, _outputs[turn]);
        _turn = 1 - turn;
        return _output[0];
    }
}
