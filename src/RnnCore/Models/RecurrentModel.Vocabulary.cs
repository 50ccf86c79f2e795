namespace RnnCore.Models;

/// <content>The vocabulary a network reads text with, carried with it into model files.</content>
public partial class RecurrentModel<T>
{
    private Vocabulary? _vocabulary;

    /// <summary>
    /// The vocabulary whose ids this network reads, or null (the default) for none. <see cref="Persistence.ModelFile"/>
    /// saves it inside the model file and <c>Load</c> restores it, so a loaded model encodes text as the trained one
    /// did. Its <see cref="RnnCore.Vocabulary.Count"/> must be the number of ids the network reads: V
    /// (<see cref="VocabularySize"/>) with an embedding, else the input size I (the one-hot width); with a
    /// <see cref="RecurrentModelOptions.PaddingId"/> its padding id must be that one.
    /// </summary>
    /// <exception cref="ArgumentException">The vocabulary's count or padding id does not fit the network (the message names both); the network keeps its vocabulary.</exception>
    public Vocabulary? Vocabulary
    {
        get => _vocabulary;
        set
        {
            if (value is not null)
            {
                RequireFittingVocabulary(value, nameof(value));
            }

            _vocabulary = value;
        }
    }

    /// <summary>Throws unless <paramref name="vocabulary"/> gives exactly the ids this network reads (and its padding id is the network's).</summary>
    internal void RequireFittingVocabulary(Vocabulary vocabulary, string paramName)
    {
        if (vocabulary.Count != IdCount)
        {
            throw new ArgumentException(
                HasEmbedding
                    ? $"{paramName} holds {vocabulary.Count} tokens but this {Noun}'s embedding has VocabularySize {VocabularySize}; a vocabulary must give exactly the ids the network reads."
                    : $"{paramName} holds {vocabulary.Count} tokens but this {Noun} reads ids in [0, {InputSize}) (its input size, the one-hot width); a vocabulary must give exactly the ids the network reads.",
                paramName);
        }

        if (Options.PaddingId is int padding && padding != vocabulary.PaddingId)
        {
            throw new ArgumentException(
                $"{paramName}'s padding id is {vocabulary.PaddingId} but this {Noun}'s embedding has PaddingId {padding}; they must be the same id.", paramName);
        }
    }
}
