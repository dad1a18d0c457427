using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace CompiledNets.Samples;

/// <summary>
/// The command-line handling the samples share (linked into each sample's project from <c>samples/Shared</c>):
/// options parsed under the invariant culture with clear messages, errors reported as <c>error: …</c> lines
/// with exit code 2, and the library's exceptions during training turned into one line with exit code 1.
/// </summary>
internal static class SampleOptions
{
    /// <summary>Exit code of a run that trained and reported.</summary>
    public const int Success = 0;

    /// <summary>Exit code of a run that failed while training or saving (e.g. diverged, a bad checkpoint).</summary>
    public const int Failed = 1;

    /// <summary>Exit code of a bad command line; nothing was run.</summary>
    public const int BadArguments = 2;

    /// <summary>
    /// A number option such as <c>--lr</c>: <see cref="NumberStyles.Float"/> under the invariant culture, so
    /// <c>0.01</c> and <c>1e-3</c> parse and <c>0,01</c> is an error (the invariant culture would read the comma as a
    /// thousands separator and give 1).
    /// </summary>
    /// <param name="name">The option, e.g. <c>--lr</c>.</param>
    /// <param name="description">The <c>--help</c> text.</param>
    /// <param name="defaultValue">The value when the option is not given.</param>
    /// <param name="example">A valid value for the error message, e.g. <c>0.01</c>.</param>
    public static Option<float> Float(string name, string description, float defaultValue, string example) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            string text = Token(result);
            if (float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value))
            {
                return value;
            }
            result.AddError($"{name} must be a number like {example}; got '{text}'");
            return defaultValue;
        },
    };

    /// <summary>A whole-number option such as <c>--epochs</c>: digits with an optional sign, invariant culture.</summary>
    public static Option<int> Int(string name, string description, int defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => ParseInt(result, name) ?? defaultValue,
    };

    /// <summary>A whole-number option without a default value: <see langword="null"/> when not given.</summary>
    public static Option<int?> OptionalInt(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = result => ParseInt(result, name),
    };

    /// <summary>A seed option: a whole number in [0, 2⁶⁴).</summary>
    public static Option<ulong> Seed(string name, string description, ulong defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            string text = Token(result);
            if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value))
            {
                return value;
            }
            result.AddError($"{name} must be a whole number from 0 to {ulong.MaxValue}; got '{text}'");
            return defaultValue;
        },
    };

    /// <summary>The <c>--plot PATH</c> option: write the loss and metric curves to a PNG after training.</summary>
    public static Option<string> PlotPath() => new("--plot")
    {
        Description = "After training, write the training loss and the test metric per epoch to this PNG (e.g. loss.png).",
    };

    /// <summary>Adds an error when <paramref name="path"/> (of <c>--plot</c>) is not a .png file in an existing folder.</summary>
    public static void CheckPlotPath(string? path, List<string> errors)
    {
        if (path is null)
        {
            return;
        }
        if (!path.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"--plot {path}: the plot is written as PNG; give a file name ending in .png");
        }
        else if (MissingFolder(path) is { } folder)
        {
            errors.Add($"--plot {path}: the folder '{folder}' does not exist; create it or choose another path");
        }
    }

    /// <summary>The folder <paramref name="path"/> would be written into, when it does not exist; else <see langword="null"/>.</summary>
    public static string? MissingFolder(string path)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        return folder is null || Directory.Exists(folder) ? null : folder;
    }

    private static int? ParseInt(ArgumentResult result, string name)
    {
        string text = Token(result);
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
        {
            return value;
        }
        result.AddError($"{name} must be a whole number; got '{text}'");
        return null;
    }

    private static string Token(ArgumentResult result) => result.Tokens.Count > 0 ? result.Tokens[0].Value : "";

    /// <summary>Writes each error as <c>error: …</c> and a pointer to <c>--help</c>.</summary>
    /// <returns><see cref="BadArguments"/>.</returns>
    public static int ReportErrors(IEnumerable<string> errors, TextWriter error)
    {
        foreach (string e in errors)
        {
            error.WriteLine("error: " + e);
        }
        error.WriteLine("Run with --help for the options.");
        return BadArguments;
    }

    /// <summary>
    /// Runs <paramref name="train"/>; the library's exceptions (bad files, a diverging run, …) become one line on
    /// <paramref name="error"/>, without a stack trace: <c>error: training diverged: …; try a smaller --lr</c> when a
    /// loss met a NaN or infinite value, else <c>error: </c> and the message.
    /// </summary>
    /// <returns><see cref="Success"/>, or <see cref="Failed"/> after an exception.</returns>
    public static int RunTraining(Action train, TextWriter error)
    {
        try
        {
            train();
            return Success;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or FormatException
                                      or ArgumentException or InvalidOperationException)
        {
            string message = Message(e);
            error.WriteLine(IsDivergence(e)
                ? $"error: training diverged: {message.TrimEnd('.')}; try a smaller --lr"
                : "error: " + message);
            return Failed;
        }
    }

    /// <summary>
    /// Whether <paramref name="e"/> is a loss rejecting a NaN or infinite input: with valid data, the model's
    /// outputs overflowed, i.e. training diverged (PyTorch would go on with a loss of nan).
    /// </summary>
    private static bool IsDivergence(Exception e) =>
        e is ArgumentException and not ArgumentOutOfRangeException
        && (e.Message.Contains("non-finite", StringComparison.Ordinal) || e.Message.Contains("NaN or infinite", StringComparison.Ordinal));

    /// <summary>The message without the <c>(Parameter 'x')</c> suffix that <see cref="ArgumentException"/> adds.</summary>
    private static string Message(Exception e)
    {
        string message = e.Message;
        if (e is ArgumentException { ParamName: { } p } && message.EndsWith($" (Parameter '{p}')", StringComparison.Ordinal))
        {
            message = message[..^$" (Parameter '{p}')".Length];
        }
        return message;
    }
}
