namespace RnnCore.Models;

// The model's summary: its rows and parameter counts (NetworkSummary builds it for every network).
public partial class RecurrentModel<T>
{
    /// <summary>
    /// What the model is made of, as Keras's <c>summary()</c> or torchinfo print it: one row per layer (cell, directions,
    /// input and output features per step, parameters) and one for the head, and the total.
    /// </summary>
    /// <returns>The summary; <c>ToString()</c> gives it as a table.</returns>
    public NetworkSummary Summary() => NetworkSummary.Of(this);
}
