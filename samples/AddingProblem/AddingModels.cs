using RnnCore.Initialization;
using RnnCore.Models;

namespace RnnCore.Samples.AddingProblem;

/// <summary>
/// One model of the comparison and how it is trained: its initialization, Adam's learning rate and its number of
/// updates, each with the reason when it differs from the library's default (PyTorch's initialization, Adam's lr 0.001)
/// or from the other models.
/// </summary>
/// <param name="Key">A short name for scripts and <c>--models</c>: tanh, irnn, lstm or gru.</param>
/// <param name="Name">The name printed in the tables and pictures.</param>
/// <param name="Initialization">How the weights start, in words.</param>
/// <param name="InitializationReason">Why it is not PyTorch's default, or null when it is.</param>
/// <param name="LearningRate">Adam's step size for this model (<c>--learning-rate</c> sets one for every model instead).</param>
/// <param name="LearningRateReason">Why it is not 0.001, or null when it is.</param>
/// <param name="Updates">Updates at every T (<c>--updates</c> sets one number for every model instead).</param>
/// <param name="UpdatesReason">Why it differs from the other models', or null.</param>
public sealed record AddingModel(
    string Key, string Name, string Initialization, string? InitializationReason, double LearningRate, string? LearningRateReason, int Updates, string? UpdatesReason);

/// <summary>The four models compared: I = 2 inputs, H hidden units, one linear output (squared error).</summary>
public static class AddingModels
{
    /// <summary>The library's default learning rate (PyTorch's Adam default).</summary>
    public const double DefaultLearningRate = 0.001;

    /// <summary>The four models in the order of the tables: the problem, then three remedies.</summary>
    public static IReadOnlyList<AddingModel> All { get; } =
    [
        new("tanh", "tanh, default init", "PyTorch's default, U(−1/√H, 1/√H)", null, DefaultLearningRate, null, 2000, null),
        new("irnn", "IRNN (ReLU, W_h = I)", "W_h = I, b = 0, W_x and W_y from N(0, 0.001²)",
            "the IRNN of Le, Jaitly and Hinton (2015): with ReLU and W_h = I the gradient passes back through every step unchanged",
            0.002, "leaves the baseline sooner than with 0.001",
            8000, "it leaves the baseline late (after 2,500 to 4,000 updates at T = 100), and a vanilla step costs a third of a gated one"),
        new("lstm", "LSTM", "Keras' weights (orthogonal W_hh per gate, Glorot-uniform W_ih), chrono gate biases for T steps (b_f = ln U(1, T − 1), b_i = −b_f)",
            "with PyTorch's initialization the forget gate starts near σ(0) = 0.5 and halves dL/dc at every step, and the LSTM stays at the baseline; "
            + "chrono biases give the units memories of 2 to T steps and keep their input gates mostly closed (Tallec and Ollivier 2018), so the gradient reaches the first marked value",
            0.003, "learns in fewer updates than 0.001", 2000, null),
        new("gru", "GRU", "PyTorch's default, U(−1/√H, 1/√H)", null, 0.003, "learns in fewer updates than 0.001", 2000, null),
    ];

    /// <summary>The models whose keys are listed (in the order of <see cref="All"/>).</summary>
    public static IReadOnlyList<AddingModel> Select(IReadOnlyCollection<string> keys) => All.Where(m => keys.Contains(m.Key)).ToList();

    /// <summary>A fresh model of <paramref name="model"/>'s kind with its own Adam optimizer and buffers.</summary>
    public static AddingLearner CreateLearner(AddingModel model, int hiddenSize, int seed, int steps, int batch, int testSize, double learningRate) =>
        model.Key switch
        {
            "tanh" => AddingLearner.ForLayer(Tanh(hiddenSize, seed), steps, batch, testSize, learningRate),
            "irnn" => AddingLearner.ForLayer(Irnn(hiddenSize, seed), steps, batch, testSize, learningRate),
            "lstm" => AddingLearner.ForModel(Gated(RecurrentCellKind.Lstm, hiddenSize, seed, steps), steps, batch, testSize, learningRate),
            "gru" => AddingLearner.ForModel(Gated(RecurrentCellKind.Gru, hiddenSize, seed, steps), steps, batch, testSize, learningRate),
            _ => throw new SampleException($"unknown model '{model.Key}'"),
        };

    /// <summary>tanh units with PyTorch's default initialization, U(−1/√H, 1/√H) for every parameter.</summary>
    public static RecurrentLayer<float> Tanh(int hiddenSize, int seed) =>
        new(2, hiddenSize, 1, HiddenActivation.Tanh, OutputActivation.Identity, seed);

    /// <summary>
    /// The IRNN of Le, Jaitly and Hinton (2015): ReLU units, W_h = I and b_h = 0, so that at the start h_t simply
    /// accumulates W_x x_t and dL/dh_t passes back unchanged through every step (ReLU' = 1 where h &gt; 0, W_hᵀ = I);
    /// W_x and W_y drawn from N(0, 0.001²), b_y = 0 (<see cref="LayerInitialization.Irnn"/>).
    /// </summary>
    public static RecurrentLayer<float> Irnn(int hiddenSize, int seed)
    {
        var layer = new RecurrentLayer<float>(2, hiddenSize, 1, HiddenActivation.Relu, OutputActivation.Identity, seed);
        LayerInitialization.Irnn(weightStandardDeviation: 0.001).Apply(layer, seed);
        return layer;
    }

    /// <summary>
    /// The remedy: one LSTM (or GRU) layer. Its cell state c_t is updated additively (c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t), so
    /// dL/dc_t flows back through f_t alone. The LSTM starts from <see cref="ModelInitialization.Chrono"/> for
    /// <paramref name="steps"/>: Keras' weights (orthogonal W_hh per gate, Glorot-uniform W_ih) and, for each unit, a
    /// forget-gate bias ln u, u ~ U(1, T − 1) (f = σ(ln u) = u/(1 + u), a memory of about u steps), with the input-gate
    /// bias −ln u. The GRU's h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1} carries h with its update gate and keeps PyTorch's
    /// initialization.
    /// </summary>
    public static RecurrentModel<float> Gated(RecurrentCellKind cell, int hiddenSize, int seed, int steps)
    {
        var model = new RecurrentModel<float>(new RecurrentModelOptions(2, hiddenSize, 1)
        {
            Cell = cell,
            OutputActivation = OutputActivation.Identity,
            Seed = seed,
        });
        if (cell == RecurrentCellKind.Lstm)
        {
            ModelInitialization.Chrono(Math.Max(steps, 3)).Apply(model, seed);
        }

        return model;
    }
}
