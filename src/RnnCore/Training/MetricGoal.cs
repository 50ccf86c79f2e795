namespace RnnCore.Training;

/// <summary>Which way a <see cref="Metric"/> improves, for early stopping and best-parameter restore on it.</summary>
public enum MetricGoal
{
    /// <summary>Lower is better (losses and errors: MAE, RMSE).</summary>
    Minimize,

    /// <summary>Higher is better (accuracy).</summary>
    Maximize,
}
