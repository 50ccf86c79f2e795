using RnnCore.Optimizers;

namespace RnnCore.Tests.Optimizers;

/// <summary>The <see cref="Clipping"/> choice itself: modes, thresholds, description.</summary>
public sealed class ClippingTests
{
    [Fact]
    public void Factories_record_mode_and_threshold()
    {
        Clipping.None.Mode.Should().Be(ClippingMode.None);
        Clipping.None.Threshold.Should().Be(0);
        Clipping.ByGlobalNorm(5).Mode.Should().Be(ClippingMode.GlobalNorm);
        Clipping.ByGlobalNorm(5).Threshold.Should().Be(5);
        Clipping.ByValue(0.5).Mode.Should().Be(ClippingMode.Value);
        Clipping.ByValue(0.5).Threshold.Should().Be(0.5);
    }

    [Fact]
    public void None_is_a_single_instance()
    {
        Clipping.None.Should().BeSameAs(Clipping.None);
    }

    [Fact]
    public void ToString_describes_the_choice()
    {
        Clipping.None.ToString().Should().Be("None");
        Clipping.ByGlobalNorm(5).ToString().Should().Be("ByGlobalNorm(5)");
        Clipping.ByValue(0.25).ToString().Should().Be("ByValue(0.25)");
    }
}
