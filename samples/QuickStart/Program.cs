using MathNet.Numerics.LinearAlgebra;
using RnnCore;
using RnnCore.Models;
using RnnCore.Optimizers;
using RnnCore.Training;

// Does a sequence of numbers add up to more than zero? Each sequence has its own length (5 to 20 steps) and one
// answer, class 1 (yes) or 0 (no), scored at its own last step. To answer, the hidden state
// h_t = tanh(W_x x_t + W_h h_{t-1} + b_h) has to carry a running sum from step to step.
var random = new Random(7);
SequenceDataset<double> training = MakeData(1000), validation = MakeData(200);

var layer = new RecurrentLayer<double>(inputSize: 1, hiddenSize: 16, outputSize: 2,
    HiddenActivation.Tanh, OutputActivation.Softmax, seed: 42);
var trainer = new Trainer<double>(layer, new AdamOptimizer<double>(learningRate: 0.01), new TrainerOptions
{
    Epochs = 8, BatchSize = 32, Seed = 1,        // the seed fixes the shuffling
    Clipping = Clipping.ByGlobalNorm(5),
});

History history = trainer.Fit(training, validation);   // mini-batches padded to their longest sequence, for you
foreach (EpochRecord epoch in history.Epochs)
{
    Console.WriteLine($"epoch {epoch.Epoch}: training loss {epoch.TrainingLoss:F4}, " +
        $"validation loss {epoch.ValidationLoss:F4}, accuracy {epoch.ValidationAccuracy:P1}, {epoch.Health.Verdict}");
}

Console.WriteLine($"held-out accuracy: {trainer.Evaluate(MakeData(500)).Accuracy:P1} (guessing scores about 50 %)");

// n sequences of 5 to 20 numbers in [-1, 1], each labelled with whether its sum is positive.
SequenceDataset<double> MakeData(int n) => new(Enumerable.Range(0, n).Select(i =>
{
    List<Vector<double>> inputs = Enumerable.Range(0, random.Next(5, 21))
        .Select(t => Vector<double>.Build.Dense([2 * random.NextDouble() - 1]))
        .ToList();
    return Sequence<double>.WithClasses(inputs, [inputs.Sum(x => x[0]) > 0 ? 1 : 0]);
}));
