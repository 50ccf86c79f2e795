namespace RnnCore.Samples;

/// <summary>A problem with what the user asked for (a file, an option): reported as one line, never as a stack trace.</summary>
public sealed class SampleException(string message) : Exception(message);
