using System.CommandLine;
using RnnCore.Samples;
using RnnCore.Samples.AddingProblem;

// The adding problem at T = 100 and T = 200: a tanh RNN with default initialization, an IRNN, an LSTM and a GRU, trained on
// the same batches (each model with its own initialization and learning rate, printed with the reason at the start). Prints how far back each model's gradient reaches and a table of final errors against the 0.167
// baseline, and draws both for each T.
var defaults = new AddingOptions();
var steps = new Option<string>("--steps") { Description = "T, the sequence lengths, comma-separated (one experiment each)", DefaultValueFactory = _ => string.Join(",", defaults.Steps) };
var hiddenSize = new Option<int>("--hidden-size") { Description = "H, the hidden state's size", DefaultValueFactory = _ => defaults.HiddenSize };
var batchSize = new Option<int>("--batch-size") { Description = "B, sequences per update", DefaultValueFactory = _ => defaults.BatchSize };
var updates = new Option<int?>("--updates") { Description = "updates for every model (default: each model's own, printed at the start)" };
var learningRate = new Option<double?>("--learning-rate") { Description = "Adam's step size for every model (default: each model's own, printed at the start)" };
var models = new Option<string>("--models") { Description = "the models to train, comma-separated: tanh, irnn, lstm, gru", DefaultValueFactory = _ => string.Join(",", defaults.Models) };
var clip = new Option<double>("--clip") { Description = "maximum global gradient norm; 0 turns clipping off", DefaultValueFactory = _ => defaults.Clip };
var testSize = new Option<int>("--test-size") { Description = "held-out sequences for the error", DefaultValueFactory = _ => defaults.TestSize };
var evaluateEvery = new Option<int>("--evaluate-every") { Description = "measure the held-out error every this many updates", DefaultValueFactory = _ => defaults.EvaluateEvery };
var seed = new Option<int>("--seed") { Description = "seeds the initialization and the data", DefaultValueFactory = _ => defaults.Seed };
var output = new Option<string>("--output") { Description = "folder for the pictures and summary.json", DefaultValueFactory = _ => defaults.OutputFolder };

var command = new RootCommand("AddingProblem: the vanishing gradient of a tanh RNN, and three remedies (IRNN, LSTM, GRU) that carry a value across T steps.")
{
    steps, models, hiddenSize, batchSize, updates, learningRate, clip, testSize, evaluateEvery, seed, output,
};

command.SetAction(parsed =>
{
    var options = new AddingOptions
    {
        Steps = AddingOptions.ParseSteps(parsed.GetValue(steps)!),
        HiddenSize = parsed.GetValue(hiddenSize),
        BatchSize = parsed.GetValue(batchSize),
        Updates = parsed.GetValue(updates),
        LearningRate = parsed.GetValue(learningRate),
        Models = parsed.GetValue(models)!.Split(',', StringSplitOptions.TrimEntries),
        Clip = parsed.GetValue(clip),
        TestSize = parsed.GetValue(testSize),
        EvaluateEvery = parsed.GetValue(evaluateEvery),
        Seed = parsed.GetValue(seed),
        OutputFolder = parsed.GetValue(output)!,
    };
    options.Validate();
    return AddingReport.RunAndReport(options);
});

return SampleCommandLine.Run("AddingProblem", command, args);
