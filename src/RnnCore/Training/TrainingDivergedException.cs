namespace RnnCore.Training;

/// <summary>
/// Training produced a NaN or infinity (in the forward pass, the loss, a gradient or the updated parameters) and was
/// stopped where it first appeared. The layer's parameters have been restored to the last good ones: those of the last
/// optimizer step whose loss and gradients were finite, before its update (the initial parameters if none was).
/// </summary>
/// <remarks>The optimizer's state (momentum, moment estimates) is not rolled back: call its <c>Reset</c> before training on.</remarks>
public sealed class TrainingDivergedException : ArithmeticException
{
    internal TrainingDivergedException(int epoch, int batch, int step, string quantity, bool duringValidation, History history, Exception? inner)
        : base(Describe(epoch, batch, step, quantity, duringValidation), inner)
    {
        Epoch = epoch;
        Batch = batch;
        Step = step;
        Quantity = quantity;
        DuringValidation = duringValidation;
        History = history;
    }

    /// <summary>The 1-based epoch.</summary>
    public int Epoch { get; }

    /// <summary>The 1-based batch (of the validation set when <see cref="DuringValidation"/>).</summary>
    public int Batch { get; }

    /// <summary>The 0-based step of the sequence where the value first appeared, or −1 for a quantity not tied to a step (the loss's sum, the gradient norm, a parameter).</summary>
    public int Step { get; }

    /// <summary>What became non-finite, e.g. <c>pre-activation a_t</c>, <c>gradient dL/dh_t</c>, <c>loss</c>, <c>global gradient norm</c>, <c>parameter Wh</c>.</summary>
    public string Quantity { get; }

    /// <summary>True when it appeared while measuring the validation loss.</summary>
    public bool DuringValidation { get; }

    /// <summary>The epochs completed before the divergence.</summary>
    public History History { get; }

    private static string Describe(int epoch, int batch, int step, string quantity, bool validation)
        => $"Training diverged: {quantity} became NaN or infinite at epoch {epoch}, {(validation ? "validation " : string.Empty)}batch {batch}" +
           (step >= 0 ? $", step {step}" : string.Empty) +
           ". The parameters were restored to the last good ones; lower the learning rate or clip the gradients.";
}
