namespace RnnCore;

// The layer's summary: its rows and parameter counts (NetworkSummary builds it for every network).
public sealed partial class RecurrentLayer<T>
{
    /// <summary>
    /// What the layer is made of, as Keras's <c>summary()</c> prints it: the recurrence (W_x, W_h, b_h) and the output
    /// layer (W_y, b_y), each with input and output features per step and parameter count, and the total.
    /// </summary>
    /// <returns>The summary; <c>ToString()</c> gives it as a table.</returns>
    public NetworkSummary Summary() => NetworkSummary.Of(this);
}
