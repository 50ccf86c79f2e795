using RnnCore.Internal;

namespace RnnCore.Models;

/// <content>The check every writer of a network runs first.</content>
public partial class RecurrentModel<T>
{
    /// <summary>
    /// Refuses to write a network that no writer can store yet: one with an embedding (no writer stores
    /// <c>embedding.weight</c> or the vocabulary size, and a file without them would load as a different network). A
    /// network fed ids without an embedding is an ordinary one (its W_ih is the one-hot input's) and is written as such.
    /// </summary>
    /// <param name="paramName">The writer's name for this network, for the message.</param>
    internal void RequireWritable(string paramName)
    {
        if (HasEmbedding)
        {
            throw new NotSupportedException(
                $"{paramName} has an embedding (VocabularySize {VocabularySize}); model files, safetensors and ONNX export do not store embedding.weight yet, so it is not written.");
        }
    }

    /// <summary>Refuses to write a network that <see cref="RequireWritable"/> refuses, or whose parameters hold a NaN or infinity: the file would not load again.</summary>
    /// <param name="paramName">The writer's name for this network, for the message.</param>
    internal void RequireFiniteParameters(string paramName)
    {
        RequireWritable(paramName);
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
}
