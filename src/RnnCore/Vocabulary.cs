using System.Globalization;
using System.Text;

namespace RnnCore;

/// <summary>
/// Token ids for text: a vocabulary built from texts by characters or by words, with a padding id (0), an unknown id (1)
/// for whatever the texts did not hold often enough, and encoding and decoding. Feed the ids to a network with an
/// embedding (<see cref="Models.RecurrentModelOptions.VocabularySize"/> = <see cref="Count"/>,
/// <see cref="Models.RecurrentModelOptions.PaddingId"/> = <see cref="PaddingId"/>) through
/// <see cref="Sequence{T}.FromTokens(IReadOnlyList{int}, IReadOnlyList{int})"/>.
/// </summary>
/// <remarks>
/// <para>
/// The word tokenizer (<see cref="Tokenize"/>) is deliberately simple: optionally lower-cased (invariant culture), the
/// text is split at white space, and each punctuation or symbol character (<see cref="char.IsPunctuation(char)"/>,
/// <see cref="char.IsSymbol(char)"/>) is a token of its own: "Don't stop!" gives "Don", "'", "t", "stop", "!". The
/// character tokenizer takes each UTF-16 character (optionally lower-cased) as a token, white space included.
/// </para>
/// <para>
/// Ids: 0 is <see cref="PaddingToken"/>, 1 is <see cref="UnknownToken"/>, then the tokens seen at least the minimum
/// number of times, most frequent first (ties in ordinal order), so the same texts give the same ids on every machine.
/// </para>
/// <para>
/// Give it to the network that reads its ids (<see cref="Models.RecurrentModel{T}.Vocabulary"/>) and the model file
/// stores it: a model loaded from the file encodes text as the trained one did. <see cref="FromTokens"/> rebuilds one
/// from its tokens.
/// </para>
/// </remarks>
public sealed class Vocabulary
{
    /// <summary>The padding token, id 0.</summary>
    public const string PaddingToken = "<pad>";

    /// <summary>The unknown token, id 1: what any token outside the vocabulary encodes to.</summary>
    public const string UnknownToken = "<unk>";

    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;

    private Vocabulary(string[] tokens, bool byCharacters, bool lowerCase)
    {
        _tokens = tokens;
        _ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++)
        {
            _ids[tokens[i]] = i;
        }

        ByCharacters = byCharacters;
        LowerCase = lowerCase;
    }

    /// <summary>The padding id, 0: its embedding row stays zero (pass it as <see cref="Models.RecurrentModelOptions.PaddingId"/>).</summary>
    public int PaddingId => 0;

    /// <summary>The unknown id, 1.</summary>
    public int UnknownId => 1;

    /// <summary>V, the number of ids (padding and unknown included).</summary>
    public int Count => _tokens.Length;

    /// <summary>True for a character vocabulary, false for a word vocabulary.</summary>
    public bool ByCharacters { get; }

    /// <summary>True when texts are lower-cased before they are split.</summary>
    public bool LowerCase { get; }

    /// <summary>Every token, in id order (index = id).</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>A character vocabulary: every character seen at least <paramref name="minimumFrequency"/> times.</summary>
    /// <param name="texts">The texts to count characters in.</param>
    /// <param name="minimumFrequency">How often a character must occur to get an id of its own; at least 1.</param>
    /// <param name="lowerCase">Lower-case the texts first (invariant culture).</param>
    /// <returns>The vocabulary.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minimumFrequency"/> is less than 1.</exception>
    public static Vocabulary FromCharacters(IEnumerable<string> texts, int minimumFrequency = 1, bool lowerCase = false) =>
        Build(texts, minimumFrequency, byCharacters: true, lowerCase);

    /// <summary>A word vocabulary: every token of <see cref="Tokenize"/> seen at least <paramref name="minimumFrequency"/> times.</summary>
    /// <param name="texts">The texts to count tokens in.</param>
    /// <param name="minimumFrequency">How often a token must occur to get an id of its own; at least 1.</param>
    /// <param name="lowerCase">Lower-case the texts first (invariant culture).</param>
    /// <returns>The vocabulary.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minimumFrequency"/> is less than 1.</exception>
    public static Vocabulary FromWords(IEnumerable<string> texts, int minimumFrequency = 1, bool lowerCase = false) =>
        Build(texts, minimumFrequency, byCharacters: false, lowerCase);

    /// <summary>
    /// A vocabulary of the given tokens in id order (index = id), as <see cref="Tokens"/> lists them: id 0 must be
    /// <see cref="PaddingToken"/> and id 1 <see cref="UnknownToken"/>, every token non-empty and distinct; a character
    /// vocabulary's tokens (after those two) are single UTF-16 characters, a word vocabulary's hold no white space.
    /// </summary>
    /// <param name="tokens">The tokens, padding and unknown first.</param>
    /// <param name="byCharacters">True for a character vocabulary, false for a word vocabulary.</param>
    /// <param name="lowerCase">True when texts are lower-cased before they are split.</param>
    /// <returns>The vocabulary.</returns>
    /// <exception cref="ArgumentException">A token breaks a rule above (the message names its id and what it holds).</exception>
    public static Vocabulary FromTokens(IReadOnlyList<string> tokens, bool byCharacters, bool lowerCase = false)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Count < 2 || tokens[0] != PaddingToken || tokens[1] != UnknownToken)
        {
            throw new ArgumentException(
                $"tokens has {tokens.Count} entries starting {string.Join(", ", tokens.Take(2).Select(t => $"'{t}'"))}; expected '{PaddingToken}' (id 0) and '{UnknownToken}' (id 1) first.",
                nameof(tokens));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int id = 0; id < tokens.Count; id++)
        {
            string token = tokens[id] ?? throw new ArgumentException($"tokens[{id}] is null.", nameof(tokens));
            if (token.Length == 0 || !seen.Add(token))
            {
                throw new ArgumentException(
                    token.Length == 0 ? $"tokens[{id}] is empty; every token has at least one character." : $"tokens[{id}] is '{token}', which id {tokens.Take(id).ToList().IndexOf(token)} already holds.",
                    nameof(tokens));
            }

            if (id >= 2 && (byCharacters ? token.Length != 1 : token.Any(char.IsWhiteSpace)))
            {
                throw new ArgumentException(
                    byCharacters
                        ? $"tokens[{id}] is '{token}' ({token.Length} characters) but a character vocabulary's tokens are single characters."
                        : $"tokens[{id}] is '{token}', which holds white space; the word tokenizer splits there, so no word token holds any.",
                    nameof(tokens));
            }
        }

        return new Vocabulary(tokens.ToArray(), byCharacters, lowerCase);
    }

    /// <summary>
    /// The word tokenizer: optionally lower-cased, split at white space, each punctuation or symbol character a token of
    /// its own.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="lowerCase">Lower-case it first (invariant culture).</param>
    /// <returns>The tokens, in order.</returns>
    public static IReadOnlyList<string> Tokenize(string text, bool lowerCase = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        string source = lowerCase ? text.ToLowerInvariant() : text;
        var tokens = new List<string>();
        var word = new StringBuilder();
        foreach (char c in source)
        {
            if (char.IsWhiteSpace(c) || char.IsPunctuation(c) || char.IsSymbol(c))
            {
                if (word.Length > 0)
                {
                    tokens.Add(word.ToString());
                    word.Clear();
                }

                if (!char.IsWhiteSpace(c))
                {
                    tokens.Add(c.ToString());
                }
            }
            else
            {
                word.Append(c);
            }
        }

        if (word.Length > 0)
        {
            tokens.Add(word.ToString());
        }

        return tokens;
    }

    /// <summary>The id of <paramref name="token"/>, or <see cref="UnknownId"/> when the vocabulary does not hold it.</summary>
    /// <param name="token">A token (not lower-cased here).</param>
    /// <returns>The id.</returns>
    public int Id(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _ids.TryGetValue(token, out int id) ? id : UnknownId;
    }

    /// <summary>The token of <paramref name="id"/>.</summary>
    /// <param name="id">An id in [0, <see cref="Count"/>).</param>
    /// <returns>The token.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The id is outside [0, <see cref="Count"/>).</exception>
    public string Token(int id) => (uint)id < (uint)_tokens.Length
        ? _tokens[id]
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"id is {id} but must be in [0, {_tokens.Length}).");

    /// <summary>The ids of <paramref name="text"/>'s tokens (characters, or words by <see cref="Tokenize"/>); unknown ones are <see cref="UnknownId"/>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>One id per token.</returns>
    public int[] Encode(string text) => Split(text ?? throw new ArgumentNullException(nameof(text)), ByCharacters, LowerCase).Select(Id).ToArray();

    /// <summary>The text of <paramref name="ids"/>: characters joined as they are, words with single spaces; padding ids are skipped.</summary>
    /// <param name="ids">Ids in [0, <see cref="Count"/>).</param>
    /// <returns>The text (unknown ids appear as <see cref="UnknownToken"/>).</returns>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, <see cref="Count"/>).</exception>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        IEnumerable<string> tokens = ids.Where(id => id != PaddingId).Select(Token);
        return string.Join(ByCharacters ? string.Empty : " ", tokens);
    }

    private static Vocabulary Build(IEnumerable<string> texts, int minimumFrequency, bool byCharacters, bool lowerCase)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (minimumFrequency < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(minimumFrequency), minimumFrequency, $"minimumFrequency is {minimumFrequency}; expected at least 1.");
        }

        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        int n = 0;
        foreach (string text in texts)
        {
            foreach (string token in Split(text ?? throw new ArgumentNullException(nameof(texts), $"texts[{n}] is null."), byCharacters, lowerCase))
            {
                counts[token] = counts.GetValueOrDefault(token) + 1;
            }

            n++;
        }

        string[] tokens = counts
            .Where(p => p.Value >= minimumFrequency && p.Key is not PaddingToken and not UnknownToken)
            .OrderByDescending(p => p.Value)
            .ThenBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => p.Key)
            .Prepend(UnknownToken)
            .Prepend(PaddingToken)
            .ToArray();
        return new Vocabulary(tokens, byCharacters, lowerCase);
    }

    private static IEnumerable<string> Split(string text, bool byCharacters, bool lowerCase)
    {
        if (!byCharacters)
        {
            return Tokenize(text, lowerCase);
        }

        string source = lowerCase ? text.ToLowerInvariant() : text;
        return source.Select(c => c.ToString(CultureInfo.InvariantCulture));
    }
}
