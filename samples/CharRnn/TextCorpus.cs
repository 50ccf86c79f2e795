namespace RnnCore.Samples.CharRnn;

/// <summary>
/// The training text as class indices: the vocabulary is the text's distinct characters in ordinal order, so the same
/// text always gives the same vocabulary (and a checkpoint trained on it fits it again).
/// </summary>
public sealed class TextCorpus
{
    private TextCorpus(string text, string vocabulary, int[] codes)
    {
        Text = text;
        Vocabulary = vocabulary;
        Codes = codes;
    }

    public string Text { get; }

    /// <summary>The distinct characters, sorted; character <c>Vocabulary[i]</c> is class i.</summary>
    public string Vocabulary { get; }

    /// <summary>The text, one class index per character.</summary>
    public IReadOnlyList<int> Codes { get; }

    public int Length => Codes.Count;

    /// <summary>Reads a UTF-8 text file; a missing, unreadable or empty file is a <see cref="SampleException"/>.</summary>
    public static TextCorpus Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new SampleException($"the text file '{path}' does not exist.");
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new SampleException($"the text file '{path}' cannot be read: {exception.Message}");
        }

        if (text.Length == 0)
        {
            throw new SampleException($"the text file '{path}' is empty; it needs at least two characters.");
        }

        return FromText(text);
    }

    public static TextCorpus FromText(string text)
    {
        // Windows line ends would make '\r' a class of its own that the model must learn to print.
        text = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        if (text.Length < 2)
        {
            throw new SampleException($"the text has {text.Length} character; it needs at least two (an input and the character after it).");
        }

        char[] distinct = text.Distinct().ToArray();
        Array.Sort(distinct);
        string vocabulary = new(distinct);
        var index = new Dictionary<char, int>();
        for (int i = 0; i < vocabulary.Length; i++)
        {
            index[vocabulary[i]] = i;
        }

        return new TextCorpus(text, vocabulary, text.Select(c => index[c]).ToArray());
    }
}
