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

        // The layer is the one network with one vanilla cell: x_t; v = W_h h for one step; h_0..h_T, which also holds
        // u = W_x x + b_h until each step's h' replaces it (the vanilla backward reads h' alone) and is the layer's output
        // o_t by position (one direction; padded steps hold zeros); z_t; then per column log Σe^z (a double) and
        // 1/Σe^(z − max z); one column of scratch and the B lengths. y_t is rebuilt from z_t, never stored. The layer's
        // own cache before issue 18 held the same, less v's one [H, B] block.
        long slabs = (InputSize * columns) + (HiddenSize * Batch) + (HiddenSize * (columns + Batch)) + (OutputSize * columns);
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

        // Nothing of the whole sequence: dL/dz and δ hold one chunk of 1024 columns (δ's buffer first holds the head's
        // dL/do of the chunk, G = 1 here); dL/dh and W_hᵀ δ one step each; T doubles of norms. Padding needs nothing
        // more. (The layer's own BPTT before issue 18: the same less the one-step dL/dh and the norms.)
        const int chunkColumns = 1024;
        long expected = ((OutputSize + HiddenSize) * (long)chunkColumns) + (2 * HiddenSize * Batch);
        Elements(bptt).Should().Be(expected + Steps);
        PackedMatrices(bptt).Should().Be(0, "W_hᵀ is packed into the cache's panel buffer (W_h is square)");
    }

    [Fact]
    public void A_models_cache_keeps_no_outputs_and_its_bptt_one_chunk_of_deltas()
    {
        var random = new Random(6);
        var model = new RecurrentModel<T>(new RecurrentModelOptions(InputSize, HiddenSize, OutputSize) { Cell = RecurrentCellKind.Lstm, Seed = 1 });
        ForwardCache<T> cache = model.CreateCache(Steps, Batch);
        const long columns = (long)Steps * Batch;
        Fields(cache).OfType<T[]>().Count(array => array.LongLength == OutputSize * columns).Should().Be(1, "the logits, and no stored outputs beside them");

        // x_t; u (the gate activations after the step), [4H, T·B]; v for one step; h and c, [H, (T+1)·B] each (h is the
        // layer's output: one direction); z_t; per column log Σe^z and 1/Σe^(z − max z); one column of scratch; B lengths.
        const int gates = 4;
        long slabs = (InputSize * columns) + (gates * HiddenSize * columns) + (gates * HiddenSize * Batch) + (2 * HiddenSize * (columns + Batch))
            + (OutputSize * columns);
        Elements(cache).Should().Be(slabs + columns + columns + OutputSize + Batch);

        model.Forward(RandomProblems.Inputs<T>(random, InputSize, Steps, Batch), cache);
        var bptt = new Bptt<T>(model);
        bptt.Backward(cache, Models.ModelProblems.Targets(random, model, Steps, Batch, LossPlacement.EveryStep));

        // One layer, one direction: nothing of the whole sequence (the head's dL/do is taken chunk by chunk into δu's
        // buffer); dL/dz and δu hold one chunk of 1024 columns; dL/dh, W_hhᵀ δv + direct and dL/dc one step each; and T
        // doubles of norms.
        const int chunkColumns = 1024;
        long expected = ((OutputSize + (gates * HiddenSize)) * (long)chunkColumns) + (3 * HiddenSize * Batch);
        Elements(bptt).Should().Be(expected + Steps);
        PackedMatrices(bptt).Should().Be(1, "W_hhᵀ, H x 4H, in the kernel's panel layout (the cache's buffer holds W_hh, 4H x H)");
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, false)]
    [InlineData(1, true)]
    [InlineData(2, true)]
    public void Bptt_holds_dL_do_of_the_whole_sequence_only_between_layers_and_for_two_directions(int layers, bool bidirectional)
    {
        var random = new Random(8);
        var model = new RecurrentModel<T>(new RecurrentModelOptions(InputSize, HiddenSize, OutputSize) { Cell = RecurrentCellKind.Vanilla, Layers = layers, Bidirectional = bidirectional, Seed = 1 });
        ForwardCache<T> cache = model.CreateCache(Steps, Batch);
        model.Forward(RandomProblems.Inputs<T>(random, InputSize, Steps, Batch), cache);
        var bptt = new Bptt<T>(model);
        bptt.Backward(cache, Models.ModelProblems.Targets(random, model, Steps, Batch, LossPlacement.EveryStep));

        // dL/do by position, [D·H, T·B]: one slab for what the layer above sends to the one below (two layers or more),
        // a second to alternate with it (three or more) or to hold the head's share for a reverse direction, which reads
        // positions out of the chunks' order (two directions). A single forward-only top layer takes the head's share
        // chunk by chunk. Then, per chunk of 1024 columns: dL/dz, δu (G = 1), and with two directions below the top a
        // reverse direction's W_ihᵀ δu in processing order; dL/dh and W_hhᵀ δ one step each; T doubles of norms.
        const int chunkColumns = 1024;
        const long columns = (long)Steps * Batch;
        int d = bidirectional ? 2 : 1;
        int wholeSequence = (layers > 1 ? 1 : 0) + (bidirectional || layers > 2 ? 1 : 0);
        long chunk = (OutputSize + HiddenSize + (bidirectional && layers > 1 ? d * HiddenSize : 0)) * (long)chunkColumns;
        long expected = (wholeSequence * d * HiddenSize * columns) + chunk + (2 * HiddenSize * Batch) + Steps;
        Elements(bptt).Should().Be(expected);
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
