using MathNet.Numerics.LinearAlgebra;

namespace RnnCore.Samples.AddingProblem;

/// <summary>The two models compared: I = 2 inputs, H hidden units, one linear output (squared error).</summary>
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
