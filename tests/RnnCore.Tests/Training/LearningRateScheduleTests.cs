using RnnCore.Training;

namespace RnnCore.Tests.Training;

public sealed class LearningRateScheduleTests
{
    [Fact]
    public void Step_decays_by_gamma_every_step_size_epochs_like_StepLR()
    {
        LearningRateSchedule step = LearningRateSchedule.Step(3, 0.1);
        Enumerable.Range(0, 7).Select(e => step.RateAt(e, 1.0)).Should().Equal(1, 1, 1, 0.1, 0.1, 0.1, 0.1 * 0.1);
    }

    [Fact]
    public void Cosine_follows_CosineAnnealingLR_within_the_period_then_holds()
    {
        LearningRateSchedule cosine = LearningRateSchedule.Cosine(10, 0.01);
        for (int e = 0; e < 10; e++)
        {
            cosine.RateAt(e, 0.5).Should().BeApproximately(0.01 + (0.49 * (1 + Math.Cos(Math.PI * e / 10)) / 2), 1e-15);
        }

        cosine.RateAt(0, 0.5).Should().Be(0.5);
        cosine.RateAt(5, 0.5).Should().BeApproximately(0.255, 1e-15);
        cosine.RateAt(25, 0.5).Should().Be(cosine.RateAt(9, 0.5));
        LearningRateSchedule.Cosine(4).RateAt(3, 1).Should().BePositive("a minimum of 0 is never reached inside the period");
        LearningRateSchedule.Constant.RateAt(12, 0.3).Should().Be(0.3);
    }

    [Fact]
    public void Bad_arguments_are_refused()
    {
        ((Action)(() => LearningRateSchedule.Step(0))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("stepSize");
        ((Action)(() => LearningRateSchedule.Step(1, 0))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("gamma");
        ((Action)(() => LearningRateSchedule.Cosine(0))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("periodEpochs");
        ((Action)(() => LearningRateSchedule.Cosine(3, -1))).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("minimumRate");
    }
}
