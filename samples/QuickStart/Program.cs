using MathNet.Numerics.LinearAlgebra;
using RnnCore;
using RnnCore.Optimizers;

// Teach a vanilla RNN to continue "hello": after h comes e, after e comes l, after the first l another l, then o.
// The same letter l must be followed by different letters, so the network has to remember where it is: that memory
// is the hidden state h_t = tanh(W_x x_t + W_h h_{t-1} + b_h).
const string Vocabulary = "helo";
List<Vector<double>> inputs = "hell".Select(c => OneHot(Vocabulary.IndexOf(c))).ToList();                  // x_1..x_4
SequenceTargets<double> targets = SequenceTargets<double>.FromClassSequence("ello".Select(c => Vocabulary.IndexOf(c)).ToList());

var layer = new RecurrentLayer<double>(inputSize: 4, hiddenSize: 8, outputSize: 4,
    HiddenActivation.Tanh, OutputActivation.Softmax, seed: 42);
var bptt = new Bptt<double>(layer, LossPlacement.EveryStep, LossReduction.Sum);
var optimizer = new SgdOptimizer<double>(learningRate: 0.1, momentum: 0.9);

for (int step = 1; step <= 100; step++)
{
    ForwardCache<double> cache = layer.Forward(inputs);                     // forward through time, caching h_1..h_4
    RecurrentGradients<double> gradients = bptt.Backward(cache, targets);   // backpropagation through time
    optimizer.Step(layer, gradients);                                       // one gradient-descent update
    if (step == 1 || step % 20 == 0)
    {
        Console.WriteLine($"step {step,3}: loss {gradients.Loss:F4}   |dL/dh| per step: " +
            string.Join(" ", gradients.DhNorms.Select(n => n.ToString("E1"))));
    }
}

ForwardCache<double> trained = layer.Forward(inputs);
string predicted = string.Concat(Enumerable.Range(0, 4).Select(t => Vocabulary[trained.Output(t).Column(0).MaximumIndex()]));
Console.WriteLine($"after \"hell\" the network predicts \"{predicted}\" (the target is \"ello\")");

static Vector<double> OneHot(int index)
{
    Vector<double> x = Vector<double>.Build.Dense(Vocabulary.Length);
    x[index] = 1;
    return x;
}
