namespace RnnCore.Persistence;

/// <summary>
/// The one exception RnnCore's loaders throw for a bad file (<see cref="ModelFile"/>, <see cref="SafeTensors"/>):
/// truncated, corrupted, of an unknown version, of the wrong element type, or otherwise not a valid model. The message
/// says what is wrong and where; <see cref="Error"/> says which kind of problem it is. A loader that throws it has
/// returned nothing and changed nothing.
/// </summary>
/// <remarks>
/// It derives from <see cref="IOException"/> (<see cref="InvalidDataException"/>, the closer match, is sealed), so code
/// that already handles a failed file read handles it too; catch <see cref="ModelFormatException"/> first to tell a bad
/// file from a failing file system. Errors of the file system itself (a missing file, no permission, a failing disk)
/// are not format errors and keep their own exception types.
/// </remarks>
public sealed class ModelFormatException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">Which kind of problem.</param>
    /// <param name="message">What is wrong, for a person.</param>
    public ModelFormatException(ModelFormatError error, string message)
        : base(message)
    {
        Error = error;
    }

    /// <summary>Creates the exception with the exception that revealed the problem.</summary>
    /// <param name="error">Which kind of problem.</param>
    /// <param name="message">What is wrong, for a person.</param>
    /// <param name="innerException">The exception that revealed it (for example a JSON parse error).</param>
    public ModelFormatException(ModelFormatError error, string message, Exception innerException)
        : base(message, innerException)
    {
        Error = error;
    }

    /// <summary>Which kind of problem the file has.</summary>
    public ModelFormatError Error { get; }
}
