using RnnCore.Internal;

namespace RnnCore.Models;

/// <content>The check the model file's writer runs first, and the copy its readers and the trainer's resume make.</content>
public partial class RecurrentModel<T>
{
    /// <summary>Refuses to write a network whose parameters hold a NaN or infinity: the file would not load again.</summary>
    /// <param name="paramName">The writer's name for this network, for the message.</param>
    internal void RequireFiniteParameters(string paramName)
    {
        for (int p = 0; p < Parameters.Count; p++)
        {
            int bad = Guard.IndexOfNonFinite<T>(Parameters[p]);
            if (bad >= 0)
            {
                throw new ArgumentException(
                    $"{paramName}'s parameter {Parameters.GetName(p)} holds {Parameters[p][bad]} at element {bad}; a model with NaN or infinite parameters is not saved (it could not be loaded again).",
                    paramName);
            }
        }
    }

    /// <summary>
    /// Takes <paramref name="source"/>'s state, a network of the same shape (the caller has checked it): its parameters,
    /// its dropout generator's state (a model's; a layer has none), and its vocabulary when it has one (else this
    /// network keeps its own). What <c>ModelFile.LoadInto</c> and <c>Trainer.Resume</c> do with a loaded checkpoint.
    /// </summary>
    internal void CopyStateFrom(RecurrentModel<T> source)
    {
        for (int p = 0; p < Parameters.Count; p++)
        {
            source.Parameters[p].CopyTo(Parameters[p]);
        }

        if (!FusedBias)
        {
            RandomState = source.RandomState;
        }

        if (source.Vocabulary is not null)
        {
            Vocabulary = source.Vocabulary;
        }
    }
}
