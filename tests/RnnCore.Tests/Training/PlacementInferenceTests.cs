using System.Numerics;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Tests.Models;
using RnnCore.Training;

namespace RnnCore.Tests.Training;

/// <summary>
/// The Trainer infers the loss placement from the data when the options leave it unset (one target per sequence: the
/// last step; one per step: every step), an explicit setting wins, and a contradiction is refused naming both sides;
/// for a layer and a model, in float and double.
/// </summary>
public abstract class PlacementInferenceTests<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public static TheoryData<bool> Networks => [false, true];

    [Theory]
    [MemberData(nameof(Networks))]
    public void One_target_per_sequence_is_scored_at_the_last_step_as_if_LastStep_were_set(bool model)
    {
        SequenceDataset<T> training = Data(perStep: false, seed: 1), validation = Data(perStep: false, seed: 2);
        (Trainer<T> inferred, History a) = Train(model, null, training, validation);
        (Trainer<T> set, History b) = Train(model, LossPlacement.LastStep, training, validation);
        (Trainer<T> _, History c) = Train(model, LossPlacement.LastStep, training, validation, seed: 9);

        inferred.Placement.Should().Be(LossPlacement.LastStep);
        Parameters(inferred).Should().BeEquivalentTo(Parameters(set), o => o.WithStrictOrdering());
        a.Epochs.Select(e => (e.TrainingLoss, e.ValidationLoss, e.ValidationAccuracy))
            .Should().Equal(b.Epochs.Select(e => (e.TrainingLoss, e.ValidationLoss, e.ValidationAccuracy)));
        c.Epochs[^1].TrainingLoss.Should().NotBe(a.Epochs[^1].TrainingLoss, "the comparison can tell runs apart");
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void A_target_per_step_is_scored_at_every_step_as_if_EveryStep_were_set(bool model)
    {
        SequenceDataset<T> training = Data(perStep: true, seed: 3);
        (Trainer<T> inferred, History a) = Train(model, null, training, null);
        (Trainer<T> set, History b) = Train(model, LossPlacement.EveryStep, training, null);
        (Trainer<T> last, _) = Train(model, LossPlacement.LastStep, training, null);

        inferred.Placement.Should().Be(LossPlacement.EveryStep);
        Parameters(inferred).Should().BeEquivalentTo(Parameters(set), o => o.WithStrictOrdering());
        a.Epochs.Select(e => e.TrainingLoss).Should().Equal(b.Epochs.Select(e => e.TrainingLoss));
        Parameters(last)[0].Should().NotEqual(Parameters(inferred)[0], "scoring only the last step trains otherwise");
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void An_explicit_LastStep_over_per_step_targets_wins_and_scores_each_last_target(bool model)
    {
        // The same sequences with only their last target: what LastStep over per-step targets must score.
        SequenceDataset<T> perStep = Data(perStep: true, seed: 4);
        var lastOnly = new SequenceDataset<T>(perStep.Select(s => Sequence<T>.WithClasses(TrainingData.InputsOf(s).Select(m => m.Column(0)).ToList(), [s.TargetClass(s.TargetSteps - 1)])));
        (Trainer<T> explicitLast, History a) = Train(model, LossPlacement.LastStep, perStep, null);
        (Trainer<T> inferred, History b) = Train(model, null, lastOnly, null);

        explicitLast.Placement.Should().Be(LossPlacement.LastStep);
        inferred.Placement.Should().Be(LossPlacement.LastStep);
        Parameters(explicitLast).Should().BeEquivalentTo(Parameters(inferred), o => o.WithStrictOrdering());
        a.Epochs.Select(e => e.TrainingLoss).Should().Equal(b.Epochs.Select(e => e.TrainingLoss));
    }

    [Theory]
    [MemberData(nameof(Networks))]
    public void An_explicit_EveryStep_over_one_target_per_sequence_is_refused_naming_both(bool model)
    {
        Trainer<T> trainer = NewTrainer(model, LossPlacement.EveryStep, out T[][] before);
        ((Action)(() => trainer.Fit(Data(perStep: false, seed: 5)))).Should().Throw<ArgumentException>().WithParameterName("training")
            .WithMessage("training[0] has one target for its 4 steps, but TrainerOptions.Placement = EveryStep scores every step*leave Placement unset*");
        Parameters(trainer).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());
        trainer.Placement.Should().Be(LossPlacement.EveryStep);
    }

    [Fact]
    public void Training_data_that_contradicts_itself_is_refused_naming_both_sequences_and_fixes_nothing()
    {
        var random = new Random(6);
        SequenceDataset<T> oneTarget = TrainingData.Classes<T>(random, 2, 3, [1, 4, 3], perStep: false);
        SequenceDataset<T> perStep = TrainingData.Classes<T>(random, 2, 3, [3], perStep: true);
        var mixed = new SequenceDataset<T>([.. oneTarget, .. perStep]);
        Trainer<T> trainer = NewTrainer(false, null, out T[][] before);

        // training[0] has one step and says nothing; training[1] decides; training[3] contradicts it.
        ((Action)(() => trainer.Fit(mixed))).Should().Throw<ArgumentException>().WithParameterName("training")
            .WithMessage("training[3] has a target at each of its 3 steps, but this trainer scores the last step only, inferred from its data (training[1] has one target for its 4 steps)*");
        trainer.Placement.Should().BeNull("a refused call leaves the placement to be inferred");
        Parameters(trainer).Should().BeEquivalentTo(before, o => o.WithStrictOrdering());

        trainer.Fit(perStep);
        trainer.Placement.Should().Be(LossPlacement.EveryStep);
    }

    [Fact]
    public void A_validation_set_that_contradicts_the_training_set_is_refused_naming_both()
    {
        var random = new Random(7);
        Trainer<T> trainer = NewTrainer(true, null, out _);
        ((Action)(() => trainer.Fit(TrainingData.Classes<T>(random, 2, 3, [5, 5], perStep: true), TrainingData.Classes<T>(random, 2, 3, [2, 6], perStep: false))))
            .Should().Throw<ArgumentException>().WithParameterName("validation")
            .WithMessage("validation[0] has one target for its 2 steps, but this trainer scores every step, inferred from its data (training[0] has a target at each of its 5 steps)*");
    }

    [Fact]
    public void The_inferred_placement_holds_for_later_calls_and_Evaluate_before_Fit_infers_it()
    {
        var random = new Random(8);
        Trainer<T> trainer = NewTrainer(false, null, out _);
        trainer.Placement.Should().BeNull();
        trainer.Evaluate(TrainingData.Classes<T>(random, 2, 3, [4, 2], perStep: false));
        trainer.Placement.Should().Be(LossPlacement.LastStep);

        ((Action)(() => trainer.Fit(TrainingData.Classes<T>(random, 2, 3, [3, 3], perStep: true)))).Should().Throw<ArgumentException>()
            .WithParameterName("training").WithMessage("training[0] has a target at each of its 3 steps*inferred from its data (data[0] has one target for its 4 steps)*");
        trainer.Placement.Should().Be(LossPlacement.LastStep);
    }

    [Fact]
    public void Sequences_of_one_step_say_nothing_and_keep_the_former_default_EveryStep()
    {
        var random = new Random(9);
        Trainer<T> trainer = NewTrainer(false, null, out _);
        trainer.Fit(TrainingData.Classes<T>(random, 2, 3, [1, 1, 1], perStep: false));
        trainer.Placement.Should().Be(LossPlacement.EveryStep);
    }

    [Fact]
    public void Truncated_BPTT_with_one_target_per_sequence_is_refused_naming_both()
    {
        var layer = new RecurrentLayer<T>(2, 4, 3, seed: 1);
        var trainer = new Trainer<T>(layer, new SgdOptimizer<T>(0.1), new TrainerOptions { TruncationLength = 2 });
        ((Action)(() => trainer.Fit(TrainingData.Classes<T>(new Random(10), 2, 3, [4, 4], perStep: false)))).Should().Throw<ArgumentException>()
            .WithParameterName("training").WithMessage("TrainerOptions.TruncationLength = 2 needs a target at every step*but training[0] has one target for its 4 steps*");
        trainer.Placement.Should().BeNull();
    }

    [Fact]
    public void An_explicit_placement_is_known_before_any_data()
    {
        new Trainer<T>(new RecurrentLayer<T>(2, 4, 3), new SgdOptimizer<T>(0.1), new TrainerOptions { Placement = LossPlacement.LastStep })
            .Placement.Should().Be(LossPlacement.LastStep);
        new TrainerOptions().Placement.Should().BeNull("unset means inferred");
    }

    /// <summary>12 class sequences of lengths 2 to 7 over 2 inputs and 3 classes: one class each, or one per step.</summary>
    private static SequenceDataset<T> Data(bool perStep, int seed)
    {
        var random = new Random(seed);
        return TrainingData.Classes<T>(random, 2, 3, [4, .. Enumerable.Range(0, 11).Select(_ => random.Next(2, 8))], perStep);
    }

    private static Trainer<T> NewTrainer(bool model, LossPlacement? placement, out T[][] parameters, int seed = 1)
    {
        var options = new TrainerOptions { Epochs = 3, BatchSize = 4, Seed = 2, Placement = placement };
        Trainer<T> trainer = model
            ? new Trainer<T>(new RecurrentModel<T>(ModelProblems.Options(RecurrentCellKind.Gru, 1, true, OutputActivation.Softmax, 2, 4, 3, 0, seed)), new AdamOptimizer<T>(0.02), options)
            : new Trainer<T>(new RecurrentLayer<T>(2, 4, 3, seed: seed), new AdamOptimizer<T>(0.02), options);
        parameters = Parameters(trainer);
        return trainer;
    }

    private static (Trainer<T> Trainer, History History) Train(bool model, LossPlacement? placement, SequenceDataset<T> training, SequenceDataset<T>? validation, int seed = 1)
    {
        Trainer<T> trainer = NewTrainer(model, placement, out _, seed);
        return (trainer, trainer.Fit(training, validation));
    }

    private static T[][] Parameters(Trainer<T> trainer)
    {
        TensorSet<T> parameters = trainer.Model.Parameters;
        return Enumerable.Range(0, parameters.Count).Select(i => parameters[i].ToArray()).ToArray();
    }
}

public sealed class PlacementInferenceTestsDouble : PlacementInferenceTests<double>;

public sealed class PlacementInferenceTestsSingle : PlacementInferenceTests<float>;
