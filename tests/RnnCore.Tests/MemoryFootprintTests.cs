using System.Numerics;
using System.Reflection;
using RnnCore.Models;
using RnnCore.Tests.TestUtilities;

namespace RnnCore.Tests;

/// <summary>
/// What a training step holds, counted element by element over every array a <see cref="ForwardCache{T}"/> and a
/// <see cref="Bptt{T}"/> keep (found by reflection, so a buffer added later is counted too): the cache stores no outputs
/// beside the logits; BPTT's δ scratch holds one time chunk, not the sequence. Another full slab fails these counts.
/// </summary>
public abstract class MemoryFootprintTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    // Size L's T, B and chunking (8192 columns, 8 chunks of 1024), with small I, H, O to keep the test light.
    private const int InputSize = 16, HiddenSize = 32, OutputSize = 8, Steps = 128, Batch = 64;

    [Fact]
    public void The_layers_cache_holds_the_one_networks_slabs_and_no_outputs()
    {
        var layer = new RecurrentLayer<T>(InputSize, HiddenSize, OutputSize, seed: 1);
        ForwardCache<T> cache = layer.CreateCache(Steps, Batch);
        const long columns = (long)Steps * Batch;

        // The layer is the one network with one vanilla cell: x_t; u = W_x x + b_h for every column; v = W_h h for one
        // step; h_0..h_T; the layer's output o_t by position (zero at padding, PyTorch's convention); z_t; then per column
        // log Σe^z (a double) and 1/Σe^(z − max z); one column of scratch and the B lengths. y_t is rebuilt from z_t,
        // never stored. (Before issue 18 the layer's own cache held neither u nor o_t: 2 fewer [H, T·B] slabs.)
        long slabs = (InputSize * columns) + (HiddenSize * columns) + (HiddenSize * Batch) + (HiddenSize * (columns + Batch))
            + (HiddenSize * columns) + (OutputSize * columns);
        long perColumn = columns + columns;
        Elements(cache).Should().Be(slabs + perColumn + OutputSize + Batch);
        Fields(cache).OfType<T[]>().Count(array => array.LongLength == OutputSize * columns).Should().Be(1, "the logits, and no stored outputs beside them");
        PackedMatrices(cache).Should().Be(1, "one packed H x H panel buffer for W_h");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Bptt_scratch_holds_one_time_chunk_of_deltas(bool padded)
    {
        var random = new Random(4);
        var layer = new RecurrentLayer<T>(InputSize, HiddenSize, OutputSize, seed: 1);
        ForwardCache<T> cache = layer.CreateCache(Steps, Batch);
        layer.Forward(RandomProblems.Inputs<T>(random, InputSize, Steps, Batch), cache, null, null, padded ? Enumerable.Range(0, Batch).Select(b => Steps - b).ToArray() : null);
        var bptt = new Bptt<T>(layer);
        bptt.Backward(cache, RandomProblems.Targets(random, layer, Steps, Batch, LossPlacement.EveryStep));

        // As for every network (see the model's test below, G = 1 here): dL/do by position is the one whole-sequence
        // buffer; dL/dz and δ hold one chunk of 1024 columns; five [H, B] step buffers; T doubles of norms.
        const int chunkColumns = 1024;
        const long columns = (long)Steps * Batch;
        long expected = (HiddenSize * columns) + ((OutputSize + HiddenSize) * (long)chunkColumns) + (5 * HiddenSize * Batch);
        Elements(bptt).Should().Be(expected + Steps);
        PackedMatrices(bptt).Should().Be(1, "W_hᵀ in the kernel's panel layout");
    }

    [Fact]
    public void A_models_cache_keeps_no_outputs_and_its_bptt_one_chunk_of_deltas()
    {
        var random = new Random(6);
        var model = new RecurrentModel<T>(new RecurrentModelOptions(InputSize, HiddenSize, OutputSize) { Cell = RecurrentCellKind.Lstm, Seed = 1 });
        ForwardCache<T> cache = model.CreateCache(Steps, Batch);
        const long columns = (long)Steps * Batch;
        Fields(cache).OfType<T[]>().Count(array => array.LongLength == OutputSize * columns).Should().Be(1, "the logits, and no stored outputs beside them");

        model.Forward(RandomProblems.Inputs<T>(random, InputSize, Steps, Batch), cache);
        var bptt = new Bptt<T>(model);
        bptt.Backward(cache, Models.ModelProblems.Targets(random, model, Steps, Batch, LossPlacement.EveryStep));

        // One layer, one direction: dL/do of the layer by position (the head's GEMM writes it chunk by chunk, the layer
        // reads it step by step) is the one whole-sequence buffer; dL/dz and δu hold one chunk of 1024 columns; dL/dh,
        // W_hhᵀ δv + direct, dL/dc and the set-aside columns one step each; and T doubles of norms.
        const int chunkColumns = 1024, gates = 4;
        long expected = (HiddenSize * columns) + ((OutputSize + (gates * HiddenSize)) * (long)chunkColumns) + (5 * HiddenSize * Batch);
        Elements(bptt).Should().Be(expected + Steps);
    }

    /// <summary>The elements of every array <paramref name="owner"/> holds in its fields (arrays of arrays counted through).</summary>
    private static long Elements(object owner)
    {
        long total = 0;
        foreach (object? value in Fields(owner))
        {
            total += value switch
            {
                Array { Rank: 1 } outer when outer.GetType().GetElementType()!.IsArray => outer.Cast<Array?>().Sum(inner => (long)(inner?.Length ?? 0)),
                Array array => array.LongLength,
                _ => 0,
            };
        }

        return total;
    }

    private static int PackedMatrices(object owner) =>
        Fields(owner).Count(value => value is not null && value.GetType().Name.StartsWith("PackedMatrix", StringComparison.Ordinal));

    private static IEnumerable<object?> Fields(object owner) =>
        owner.GetType()
            .GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .Where(field => field.FieldType != typeof(RecurrentLayer<T>) && field.FieldType != typeof(RecurrentModel<T>) && field.FieldType != typeof(object))
            .Select(field => field.GetValue(owner));
}

public sealed class MemoryFootprintTestsDouble : MemoryFootprintTests<double>;

public sealed class MemoryFootprintTestsSingle : MemoryFootprintTests<float>;
