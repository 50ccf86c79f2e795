namespace RnnCore.Benchmarks;

/// <summary>
/// The training-step sizes shared with the peer scripts in ../shared/peers (pytorch_rnn_step.py, numpy_rnn_step.py),
/// so that our medians and theirs can be read as ratios.
/// </summary>
public sealed record RnnConfig(string Name, int InputSize, int HiddenSize, int OutputSize, int Steps, int Batch)
{
    public static readonly RnnConfig S = new("S", 65, 100, 65, 25, 1); // Karpathy's min-char-rnn
    public static readonly RnnConfig M = new("M", 64, 256, 64, 64, 32);
    public static readonly RnnConfig L = new("L", 128, 512, 128, 128, 64);
    public static readonly RnnConfig XL = new("XL", 256, 1024, 256, 64, 128);

    public static IEnumerable<RnnConfig> All => [S, M, L, XL];

    /// <summary>
    /// pytorch_rnn_step.py's FLOP count for one training step of <paramref name="layers"/> layers of a cell with
    /// <paramref name="gates"/> gate blocks (1 rnn, 4 lstm, 3 gru), D directions:
    /// 6·T·B·(D·G·(I·H + H·H) + (L − 1)·D·G·(D·H·H + H·H) + D·H·O).
    /// </summary>
    public double ModelStepFlops(int gates, int layers, int directions)
        => 6.0 * Steps * Batch * ((directions * gates * (((double)InputSize * HiddenSize) + ((double)HiddenSize * HiddenSize)))
            + ((layers - 1) * directions * gates * ((directions * (double)HiddenSize * HiddenSize) + ((double)HiddenSize * HiddenSize)))
            + (directions * (double)HiddenSize * OutputSize));

    /// <summary>The peers' FLOP count for one training step: 6·T·B·(I·H + H·H + H·O).</summary>
    public double TrainingStepFlops => 6.0 * Steps * Batch * (((double)InputSize * HiddenSize) + ((double)HiddenSize * HiddenSize) + ((double)HiddenSize * OutputSize));

    public override string ToString() => Name;
}
