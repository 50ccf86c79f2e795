using RnnCore.Internal;

namespace RnnCore.Models;

/// <content>The check the model file's writer runs first.</content>
public partial class RecurrentModel<T>
{
    /// <summary>Refuses to write a network whose parameters hold a NaN or infinity: the file would not load again.</summary>
    /// <param name="paramName">The writer's name for this network, for the message.</param>
    internal void RequireFiniteParameters(string paramName)
    {
        for (int p = 0; p < Parameters.Count; p++)
        {
            int bad = Guard.IndexOfNonFinite<T>(Parameters[p]);
            if (bad >= 0)
            {
                throw new ArgumentException(
                    $"{paramName}'s parameter {Parameters.GetName(p)} holds {Parameters[p][bad]} at element {bad}; a model with NaN or infinite parameters is not saved (it could not be loaded again).",
                    paramName);
            }
        }
    }
}
