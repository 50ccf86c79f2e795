namespace RnnCore;

/// <summary>The hidden nonlinearity f in <c>h_t = f(a_t)</c>.</summary>
public enum HiddenActivation
{
    /// <summary><c>f(a) = tanh(a)</c>, with <c>f'(a) = 1 − h²</c>: the classic Elman network and min-char-rnn.</summary>
    Tanh,

    /// <summary><c>f(a) = max(a, 0)</c>, with <c>f'(a) = [h &gt; 0]</c>: the IRNN of Le, Jaitly and Hinton (2015).</summary>
    Relu,
}
