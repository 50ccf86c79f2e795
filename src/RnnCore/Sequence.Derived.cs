namespace RnnCore;

/// <content>Sequences derived from another one (e.g. by a <see cref="Training.Scaler{T}"/>): the same steps and kind of targets, other values.</content>
public sealed partial class Sequence<T>
{
    /// <summary>
    /// A sequence with this one's length, sizes and class targets, and the given inputs ([I, L] column-major) and value
    /// targets ([O, TargetSteps]; this one's when null). The arrays are taken, not copied: the caller hands them over.
    /// </summary>
    internal Sequence<T> WithData(T[] inputs, T[]? values) =>
        new(Length, InputSize, inputs, TargetSteps, TargetSize, Classes, values ?? Values, Ids);
}
