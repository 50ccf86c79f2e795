using RnnCore.Models;

namespace RnnCore.Tests;

/// <summary>
/// Buffers whose element count passes what one .NET array holds are refused before anything is allocated, with the
/// memory the call would have needed, instead of overflowing an int somewhere inside.
/// </summary>
public sealed class SizeLimitTests
{
    [Fact]
    public void A_cache_beyond_one_array_is_refused_with_the_memory_it_would_need()
    {
        // T = 100 000, B = 64, H = 512: the first slab, the hidden states h_0..h_T (u lives in it), is 512 x 6 400 064 = 3.3 billion elements.
        var layer = new RecurrentLayer<float>(inputSize: 3, hiddenSize: 512, outputSize: 2, seed: 1);
        Action create = () => layer.CreateCache(100_000, 64);
        create.Should().Throw<ArgumentOutOfRangeException>()
            .Which.Message.Should().Contain("3,276,832,768 elements").And.Contain("12.2 GiB of Single").And.Contain("truncated BPTT");
    }

    [Fact]
    public void A_double_cache_beyond_one_array_is_refused_the_same_way()
    {
        var layer = new RecurrentLayer<double>(inputSize: 3, hiddenSize: 512, outputSize: 2, seed: 1);
        Action create = () => layer.CreateCache(100_000, 64);
        create.Should().Throw<ArgumentOutOfRangeException>().Which.Message.Should().Contain("GiB of Double");
    }

    [Fact]
    public void Gradient_buffers_do_not_grow_with_the_sequence()
    {
        // The gradients hold the parameters' shapes, dL/dh_0 and T norms: nothing of size T·B, so T = 100 000 is fine.
        var layer = new RecurrentLayer<double>(inputSize: 3, hiddenSize: 512, outputSize: 2, seed: 1);
        RecurrentGradients<double> gradients = layer.CreateGradients(100_000, 64);
        gradients.ParameterGradients.TotalLength.Should().Be(layer.Parameters.TotalLength);
        gradients.DhNorms(0, 0).Should().HaveCount(100_000);
    }
}
