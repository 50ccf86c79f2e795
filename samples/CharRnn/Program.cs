using System.CommandLine;
using RnnCore.Samples;
using RnnCore.Samples.CharRnn;

// A character-level language model on Shakespeare: trains, shows its progress and what it writes, draws the loss and
// the gradients' health, and saves a checkpoint that --resume continues from. Every failure is one line on stderr.
var defaults = new CharRnnOptions();
var text = new Option<string>("--text") { Description = "UTF-8 text to learn", DefaultValueFactory = _ => defaults.TextPath };
var hiddenSize = new Option<int>("--hidden-size") { Description = "H, the hidden state's size", DefaultValueFactory = _ => defaults.HiddenSize };
var cell = new Option<string>("--cell") { Description = "rnn (vanilla tanh), lstm or gru", DefaultValueFactory = _ => defaults.Cell };
var layers = new Option<int>("--layers") { Description = "L, stacked recurrent layers", DefaultValueFactory = _ => defaults.Layers };
var dropout = new Option<double>("--dropout") { Description = "p, dropout between stacked layers while training (needs --layers 2+)", DefaultValueFactory = _ => defaults.Dropout };
var seqLength = new Option<int>("--seq-length") { Description = "T, characters per truncated-BPTT chunk", DefaultValueFactory = _ => defaults.SequenceLength };
var batchSize = new Option<int>("--batch-size") { Description = "B, streams read in parallel", DefaultValueFactory = _ => defaults.BatchSize };
var learningRate = new Option<double>("--learning-rate") { Description = "the optimizer's step size", DefaultValueFactory = _ => defaults.LearningRate };
var optimizer = new Option<string>("--optimizer") { Description = "adam, adagrad, rmsprop or sgd (momentum 0.9)", DefaultValueFactory = _ => defaults.Optimizer };
optimizer.AcceptOnlyFromAmong(CharRnnOptions.OptimizerNames);
var clip = new Option<double>("--clip") { Description = "maximum global gradient norm; 0 turns clipping off", DefaultValueFactory = _ => defaults.Clip };
var epochs = new Option<int>("--epochs") { Description = "passes over the text (in all, counting a resumed run's earlier ones)", DefaultValueFactory = _ => defaults.Epochs };
var maxSteps = new Option<int>("--max-steps") { Description = "stop after this many updates; 0: no limit", DefaultValueFactory = _ => defaults.MaxSteps };
var seed = new Option<int>("--seed") { Description = "seeds the initialization and the sampling", DefaultValueFactory = _ => defaults.Seed };
var temperature = new Option<double>("--temperature") { Description = "sampling temperature: below 1 safer, above 1 wilder", DefaultValueFactory = _ => defaults.Temperature };
var topK = new Option<int>("--top-k") { Description = "sample from the k most likely characters; 0: all", DefaultValueFactory = _ => defaults.TopK };
var sampleEvery = new Option<int>("--sample-every") { Description = "print generated text every this many updates; 0: at the end only", DefaultValueFactory = _ => defaults.SampleEvery };
var sampleLength = new Option<int>("--sample-length") { Description = "characters per generated sample", DefaultValueFactory = _ => defaults.SampleLength };
var output = new Option<string>("--output") { Description = "folder for the pictures, the checkpoint and summary.json", DefaultValueFactory = _ => defaults.OutputFolder };
var resume = new Option<string?>("--resume") { Description = "continue from a checkpoint written by an earlier run" };

var command = new RootCommand("CharRnn: a character-level RNN, LSTM or GRU language model trained with RnnCore.")
{
    text, hiddenSize, cell, layers, dropout, seqLength, batchSize, learningRate, optimizer, clip, epochs, maxSteps, seed, temperature, topK,
    sampleEvery, sampleLength, output, resume,
};

command.SetAction(parsed =>
{
    var options = new CharRnnOptions
    {
        TextPath = parsed.GetValue(text)!,
        HiddenSize = parsed.GetValue(hiddenSize),
        Cell = parsed.GetValue(cell)!,
        Layers = parsed.GetValue(layers),
        Dropout = parsed.GetValue(dropout),
        SequenceLength = parsed.GetValue(seqLength),
        BatchSize = parsed.GetValue(batchSize),
        LearningRate = parsed.GetValue(learningRate),
        Optimizer = parsed.GetValue(optimizer)!,
        Clip = parsed.GetValue(clip),
        Epochs = parsed.GetValue(epochs),
        MaxSteps = parsed.GetValue(maxSteps),
        Seed = parsed.GetValue(seed),
        Temperature = parsed.GetValue(temperature),
        TopK = parsed.GetValue(topK),
        SampleEvery = parsed.GetValue(sampleEvery),
        SampleLength = parsed.GetValue(sampleLength),
        OutputFolder = parsed.GetValue(output)!,
        Resume = parsed.GetValue(resume),
    };
    options.Validate();
    return CharRnnReport.TrainAndReport(options);
});

return SampleCommandLine.Run("CharRnn", command, args);
