using RnnCore.Models;

namespace RnnCore.Persistence;

/// <summary>Why a file was refused by a loader (<see cref="ModelFormatException.Error"/>).</summary>
public enum ModelFormatError
{
    /// <summary>The file does not start with the format's signature: it is not a file of this kind at all.</summary>
    NotAModelFile,

    /// <summary>The file is of a format version this release of RnnCore does not read.</summary>
    UnsupportedVersion,

    /// <summary>The file ends before the length it declares (an interrupted copy or download).</summary>
    Truncated,

    /// <summary>The file's checksum does not match its contents: bytes were changed after it was written.</summary>
    Corrupted,

    /// <summary>
    /// The file holds another element type (float32 or float64) than the one asked for, or, in a safetensors file, half
    /// precision (F16, BF16), which RnnCore does not read; the message names the call or the conversion to make.
    /// </summary>
    WrongElementType,

    /// <summary>The file is readable but its contents are not a valid model (a size, name, shape or value is wrong).</summary>
    Invalid,

    /// <summary>
    /// The file is a valid model, but of another kind, cell, shape or activations than the network it is loaded into
    /// (<see cref="ModelFile.LoadInto{T}(RecurrentModel{T}, string)"/>); the message says what differs.
    /// </summary>
    Mismatch,
}
