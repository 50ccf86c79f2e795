using MathNet.Numerics.LinearAlgebra;

namespace RnnCore.Samples.AddingProblem;

/// <summary>The four models compared: I = 2 inputs, H hidden units, one linear output (squared error).</summary>
public static class AddingModels
{
    /// <summary>tanh units with PyTorch's default initialization, U(−1/√H, 1/√H) for every parameter.</summary>
    public static RecurrentLayer<float> Tanh(int hiddenSize, int seed) =>
        new(2, hiddenSize, 1, HiddenActivation.Tanh, OutputActivation.Identity, seed);

    /// <summary>
    /// The IRNN of Le, Jaitly and Hinton (2015): ReLU units, W_h = I and b_h = 0, so that at the start h_t simply
    /// accumulates W_x x_t and dL/dh_t passes back unchanged through every step (ReLU' = 1 where h &gt; 0, W_hᵀ = I);
    /// W_x and W_y drawn from N(0, 0.001²), b_y = 0.
    /// </summary>
    public static RecurrentLayer<float> Irnn(int hiddenSize, int seed)
    {
        var layer = new RecurrentLayer<float>(2, hiddenSize, 1, HiddenActivation.Relu, OutputActivation.Identity, seed);
        var random = new SampleRandom(seed);
        Fill(layer.Wx, random, 0.001);
        Fill(layer.Wy, random, 0.001);
        layer.Wh.Clear();
        for (int i = 0; i < hiddenSize; i++)
        {
            layer.Wh[i, i] = 1;
        }

        layer.Bh.Clear();
        layer.By.Clear();
        return layer;
    }

    /// <summary>
    /// The remedy: one LSTM (or GRU) layer with PyTorch's initialization, U(−1/√H, 1/√H). Its cell state c_t is updated
    /// additively (c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t), so dL/dc_t flows back through f_t alone, which the model can learn to
    /// hold near 1; the GRU's h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1} does the same with its update gate.
    /// </summary>
    public static RecurrentModel<float> Gated(RecurrentCellKind cell, int hiddenSize, int seed) =>
        new(new RecurrentModelOptions(2, hiddenSize, 1)
        {
            Cell = cell,
            OutputActivation = OutputActivation.Identity,
            Seed = seed,
        });

    private static void Fill(Matrix<float> matrix, SampleRandom random, double deviation)
    {
        for (int j = 0; j < matrix.ColumnCount; j++)
        {
            for (int i = 0; i < matrix.RowCount; i++)
            {
                matrix[i, j] = (float)(random.NextGaussian() * deviation);
            }
        }
    }
}
