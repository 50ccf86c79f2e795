
namespace RnnCore.Training;

/// <content>
/// Where the loss is scored: <see cref="TrainerOptions.Placement"/> when set; otherwise inferred from the targets of the
/// first data the trainer is given, then fixed for the trainer's life (its caches and BPTT are built for it).
/// </content>
public sealed partial class Trainer<T>
{
    // The inferred placement and the sequence it was inferred from (for messages); null until then, or when the option is set.
    private PlacementSource? _inferred;

    /// <summary>
    /// Where this trainer measures the loss (and its metrics): <see cref="TrainerOptions.Placement"/> when set; otherwise
    /// inferred from the targets of the first datasets given to <see cref="Fit"/>, <c>Resume</c> or <see cref="Evaluate"/>
    /// (the training set, then the validation set): <see cref="LossPlacement.LastStep"/> when a sequence of two or more
    /// steps has one target (a classifier or forecaster: one answer per sequence), <see cref="LossPlacement.EveryStep"/>
    /// when it has a target per step (sequence to sequence), and <see cref="LossPlacement.EveryStep"/> when every
    /// sequence has one step (where the two agree). Null until then.
    /// </summary>
    /// <remarks>
    /// Once known it holds for every later call. A dataset that contradicts it is refused with a message naming both: a
    /// sequence with one target for several steps when every step is scored, or, when the placement was inferred, a
    /// sequence with per-step targets when the last step is scored (set <see cref="TrainerOptions.Placement"/> =
    /// <see cref="LossPlacement.LastStep"/> to score only the last target of such sequences). A refused dataset leaves
    /// the placement as it was.
    /// </remarks>
    public LossPlacement? Placement => Options.Placement ?? _inferred?.Placement;

    /// <summary>The placement batches are scored with; known before any batch is assembled.</summary>
    private LossPlacement ScoredPlacement =>
        Placement ?? throw new InvalidOperationException("the loss placement is not known yet; it is inferred when the datasets are validated.");

    /// <summary>
    /// The placement to validate <paramref name="first"/> (and <paramref name="second"/>) against, and where it comes
    /// from: the option, or an earlier call's, else inferred from the first sequence of two or more steps.
    /// </summary>
    private PlacementSource PlacementFor(SequenceDataset<T> first, string firstName, SequenceDataset<T>? second, string secondName)
    {
        if (Options.Placement is LossPlacement set)
        {
            return new PlacementSource(set, $"TrainerOptions.Placement = {set}", Inferred: false);
        }

        if (_inferred is not null)
        {
            return _inferred;
        }

        PlacementSource source = Infer(first, firstName) ?? (second is null ? null : Infer(second, secondName))
            ?? new PlacementSource(LossPlacement.EveryStep, $"every sequence of {firstName} has one step", Inferred: true);
        if (source.Placement == LossPlacement.LastStep && Options.TruncationLength is int k)
        {
            throw new ArgumentException(
                $"TrainerOptions.TruncationLength = {k} needs a target at every step (each chunk is scored on its own), but {source.Origin}; " +
                "give per-step targets, or leave TruncationLength unset to score one target per sequence at its last step.",
                source.Origin.StartsWith(secondName + "[", StringComparison.Ordinal) ? secondName : firstName);
        }

        return source;
    }

    /// <summary>Fixes an inferred placement once a call's datasets have been accepted.</summary>
    private void CommitPlacement(PlacementSource source)
    {
        if (source.Inferred)
        {
            _inferred = source;
        }
    }

    /// <summary>
    /// Refuses sequence <paramref name="index"/> of <paramref name="paramName"/> when its targets contradict the placement:
    /// one target for several steps when every step is scored; per-step targets when the last step is scored by inference.
    /// </summary>
    private static void RequireFitsPlacement(Sequence<T> sequence, string paramName, int index, PlacementSource source)
    {
        if (source.Placement == LossPlacement.EveryStep && sequence.TargetSteps != sequence.Length)
        {
            throw new ArgumentException(
                source.Inferred
                    ? $"{paramName}[{index}] has one target for its {sequence.Length} steps, but this trainer scores every step, inferred from its data ({source.Origin}); " +
                      "give every sequence the same kind of targets, or set TrainerOptions.Placement."
                    : $"{paramName}[{index}] has one target for its {sequence.Length} steps, but {source.Origin} scores every step and needs one target per step; " +
                      "for one target per sequence, leave Placement unset (the last step is then scored) or set Placement = LastStep.",
                paramName);
        }

        if (source.Placement == LossPlacement.LastStep && source.Inferred && sequence.Length > 1 && sequence.TargetSteps == sequence.Length)
        {
            throw new ArgumentException(
                $"{paramName}[{index}] has a target at each of its {sequence.Length} steps, but this trainer scores the last step only, inferred from its data ({source.Origin}); " +
                "give every sequence the same kind of targets, or set TrainerOptions.Placement = LastStep to score only the last target of each sequence.",
                paramName);
        }
    }

    /// <summary>The placement the first sequence of two or more steps asks for, or null when every sequence has one step.</summary>
    private static PlacementSource? Infer(SequenceDataset<T> data, string name)
    {
        for (int s = 0; s < data.Count; s++)
        {
            Sequence<T> sequence = data[s];
            if (sequence.Length > 1)
            {
                return sequence.TargetSteps == 1
                    ? new PlacementSource(LossPlacement.LastStep, $"{name}[{s}] has one target for its {sequence.Length} steps", Inferred: true)
                    : new PlacementSource(LossPlacement.EveryStep, $"{name}[{s}] has a target at each of its {sequence.Length} steps", Inferred: true);
            }
        }

        return null;
    }

    /// <summary>A placement, and where it comes from (e.g. "training[0] has one target for its 30 steps"), for messages.</summary>
    private sealed record PlacementSource(LossPlacement Placement, string Origin, bool Inferred);
}
