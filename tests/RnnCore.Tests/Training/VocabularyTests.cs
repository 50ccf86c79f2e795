using RnnCore.Models;

namespace RnnCore.Tests.Training;

public sealed class VocabularyTests
{
    [Fact]
    public void The_word_tokenizer_splits_at_white_space_and_around_each_punctuation_character()
    {
        Vocabulary.Tokenize("Don't  stop!\tGo, now.").Should().Equal("Don", "'", "t", "stop", "!", "Go", ",", "now", ".");
        Vocabulary.Tokenize("ÉTÉ +1", lowerCase: true).Should().Equal("été", "+", "1");
        Vocabulary.Tokenize(" \n ").Should().BeEmpty();
    }

    [Fact]
    public void A_word_vocabulary_keeps_frequent_tokens_most_frequent_first_and_maps_the_rest_to_unknown()
    {
        Vocabulary vocabulary = Vocabulary.FromWords(["the cat saw the dog.", "The dog ran."], minimumFrequency: 2, lowerCase: true);
        vocabulary.Tokens.Should().Equal("<pad>", "<unk>", "the", ".", "dog");
        vocabulary.PaddingId.Should().Be(0);
        vocabulary.UnknownId.Should().Be(1);
        vocabulary.Encode("The dog flew.").Should().Equal(2, 4, 1, 3);
        vocabulary.Decode([0, 2, 4, 1, 3, 0]).Should().Be("the dog <unk> .");
        vocabulary.Id("cat").Should().Be(1);
        ((Action)(() => vocabulary.Token(5))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*[0, 5)*");
        ((Action)(() => Vocabulary.FromWords(["a"], minimumFrequency: 0))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void A_character_vocabulary_encodes_and_decodes_text_and_feeds_an_embedding()
    {
        Vocabulary vocabulary = Vocabulary.FromCharacters(["abba", "cab"]);
        vocabulary.Tokens.Should().Equal("<pad>", "<unk>", "a", "b", "c");
        vocabulary.Encode("bad").Should().Equal(3, 2, 1);
        vocabulary.Decode(vocabulary.Encode("cab")).Should().Be("cab");
        Vocabulary.FromCharacters(["AaB"], lowerCase: true).Tokens.Should().Equal("<pad>", "<unk>", "a", "b");

        var model = new RecurrentModel<float>(new RecurrentModelOptions(4, 5, 2) { Cell = RecurrentCellKind.Gru, VocabularySize = vocabulary.Count, PaddingId = vocabulary.PaddingId });
        float[] y = model.PredictLast([Sequence<float>.FromTokens(vocabulary.Encode("abc"), [0])])[0];
        y.Sum().Should().BeApproximately(1, 1e-5f);
    }
}
