namespace RnnCore;

/// <summary>Where the loss is measured along the sequence.</summary>
public enum LossPlacement
{
    /// <summary>A loss term at every step: sequence to sequence (a character model predicting each next character).</summary>
    EveryStep,

    /// <summary>A loss term at the last step only: many to one (classifying or regressing a whole sequence).</summary>
    LastStep,
}
