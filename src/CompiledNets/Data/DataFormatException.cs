namespace CompiledNets.Data;

/// <summary>
/// A data file holds something other than what was expected: a non-numeric feature, a ragged row, no rows.
/// The message names the file, the row and the column; so do <see cref="Row"/> and <see cref="Column"/>.
/// </summary>
public sealed class DataFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was expected and what came.</param>
    /// <param name="row">The 1-based data row (the header does not count), or <see langword="null"/>.</param>
    /// <param name="column">The column's name, or <see langword="null"/>.</param>
    /// <param name="innerException">The parser's exception, if any.</param>
    public DataFormatException(string message, int? row = null, string? column = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Row = row;
        Column = column;
    }

    /// <summary>The 1-based data row where the problem is (the header does not count), or <see langword="null"/> for the whole file.</summary>
    public int? Row { get; }

    /// <summary>The name of the column where the problem is, or <see langword="null"/>.</summary>
    public string? Column { get; }
}
