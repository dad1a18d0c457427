using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;

namespace CompiledNets.Data;

/// <summary>
/// Reads a classification table from CSV: numeric feature columns plus one label column of class names or
/// integers (pandas: <c>pd.read_csv</c> then <c>LabelEncoder</c>). Built on CsvHelper (RFC 4180: quoting, escapes).
/// </summary>
/// <remarks>
/// Numbers are read with the invariant culture (<c>5.1</c>, <c>-3e-2</c>); leading and trailing spaces are
/// ignored, as are blank lines. Labels: when every label is a non-negative integer, label <c>k</c> is class
/// <c>k</c> and the class names are <c>"0"</c> … <c>"max"</c>; otherwise the distinct names, sorted ordinally,
/// become classes 0, 1, … (as scikit-learn's <c>LabelEncoder</c> sorts them: Iris gives setosa, versicolor, virginica).
/// </remarks>
public static class CsvLoader
{
    /// <summary>Reads the CSV file at <paramref name="path"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="labelColumn">The label column's header name; default <see langword="null"/>: the last column.</param>
    /// <param name="hasHeader">Whether the first row names the columns (default <see langword="true"/>); without one, columns are named <c>column1</c>, <c>column2</c>, ….</param>
    /// <param name="delimiter">The field separator (default <c>','</c>).</param>
    /// <returns>Features <c>[rows, columns − 1]</c>, labels <c>[rows]</c>, and the feature and class names.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">
    /// The file is empty or has no data rows; the label column is not found; a row has another number of fields
    /// than the header; a feature cell is empty, not a number, or not finite; a label cell is empty. The message
    /// names the file, the data row (1-based, the header not counted), the line and the column.
    /// </exception>
    public static TabularData Load(string path, string? labelColumn = null, bool hasHeader = true, char delimiter = ',')
    {
        ArgumentNullException.ThrowIfNull(path);
        using var reader = new StreamReader(path);
        return Load(reader, labelColumn, hasHeader, delimiter, Path.GetFileName(path));
    }

    /// <summary>Reads CSV text from <paramref name="reader"/>; see <see cref="Load(string, string?, bool, char)"/>.</summary>
    /// <param name="reader">The text.</param>
    /// <param name="labelColumn">The label column's header name; default <see langword="null"/>: the last column.</param>
    /// <param name="hasHeader">Whether the first row names the columns (default <see langword="true"/>).</param>
    /// <param name="delimiter">The field separator (default <c>','</c>).</param>
    /// <param name="sourceName">The name used in error messages (default <c>"CSV"</c>).</param>
    /// <exception cref="DataFormatException">See <see cref="Load(string, string?, bool, char)"/>.</exception>
    public static TabularData Load(TextReader reader, string? labelColumn = null, bool hasHeader = true, char delimiter = ',', string sourceName = "CSV")
    {
        ArgumentNullException.ThrowIfNull(reader);
        var config = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            HasHeaderRecord = hasHeader,
            Delimiter = delimiter.ToString(),
            TrimOptions = TrimOptions.Trim,
            IgnoreBlankLines = true,
            DetectDelimiter = false,
        };
        using var parser = new CsvParser(reader, config);

        string[]? header = null;
        int labelIndex = -1;
        var features = new List<float>();
        var labelCells = new List<string>();
        int dataRow = 0;
        try
        {
            while (parser.Read())
            {
                string[] record = parser.Record ?? [];
                if (header is null)
                {
                    if (hasHeader)
                    {
                        header = record;
                        labelIndex = FindLabel(header, labelColumn, sourceName);
                        continue;
                    }
                    header = new string[record.Length];
                    for (int c = 0; c < header.Length; c++)
                    {
                        header[c] = "column" + (c + 1).ToString(CultureInfo.InvariantCulture);
                    }
                    labelIndex = FindLabel(header, labelColumn, sourceName);
                }
                dataRow++;
                if (record.Length != header.Length)
                {
                    throw new DataFormatException(
                        $"{sourceName}: data row {dataRow} (line {parser.RawRow}) has {record.Length} fields; expected {header.Length} like the {(hasHeader ? "header" : "first row")}.",
                        dataRow);
                }
                for (int c = 0; c < record.Length; c++)
                {
                    if (c == labelIndex)
                    {
                        if (record[c].Length == 0)
                        {
                            throw new DataFormatException(
                                $"{sourceName}: data row {dataRow} (line {parser.RawRow}), column '{header[c]}' ({c + 1}): the label is empty.",
                                dataRow, header[c]);
                        }
                        labelCells.Add(record[c]);
                        continue;
                    }
                    string cell = record[c];
                    if (!float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value))
                    {
                        string what = cell.Length == 0 ? "is empty" : float.IsFinite(value) ? $"'{cell}' is not a number" : $"'{cell}' is not a finite number";
                        string hint = cell.Length > 0 && float.IsFinite(value)
                            ? $" If '{header[c]}' is the label column, pass labelColumn: \"{header[c]}\" (the default is the last column)."
                            : "";
                        throw new DataFormatException(
                            $"{sourceName}: data row {dataRow} (line {parser.RawRow}), column '{header[c]}' ({c + 1}): {what}; expected a number such as 5.1.{hint}",
                            dataRow, header[c]);
                    }
                    features.Add(value);
                }
            }
        }
        catch (CsvHelperException e)
        {
            throw new DataFormatException($"{sourceName}: line {parser.RawRow} is not valid CSV: {e.Message}", dataRow + 1, null, e);
        }

        if (header is null)
        {
            throw new DataFormatException($"{sourceName}: the file is empty; expected {(hasHeader ? "a header and " : "")}at least one data row.");
        }
        if (dataRow == 0)
        {
            throw new DataFormatException($"{sourceName}: the file has a header but no data rows.");
        }
        var featureNames = header.Where((_, c) => c != labelIndex).ToArray();
        var (labels, classNames) = EncodeLabels(labelCells);
        return new TabularData(Tensor.FromArray(features.ToArray(), dataRow, featureNames.Length), IntTensor.FromArray(labels), featureNames, classNames);
    }

    private static int FindLabel(string[] header, string? labelColumn, string sourceName)
    {
        if (header.Length < 2)
        {
            throw new DataFormatException(
                $"{sourceName}: the first row has {header.Length} column(s); expected at least one feature column and a label column. " +
                "If the file is separated by something other than commas, pass delimiter: (e.g. ';' or '\\t').");
        }
        if (labelColumn is null)
        {
            return header.Length - 1;
        }
        int index = Array.IndexOf(header, labelColumn);
        if (index < 0)
        {
            throw new DataFormatException(
                $"{sourceName}: no column is named '{labelColumn}'; the columns are {string.Join(", ", header.Select(h => $"'{h}'"))}.",
                null, labelColumn);
        }
        return index;
    }

    private static (int[] Labels, string[] ClassNames) EncodeLabels(List<string> cells)
    {
        var labels = new int[cells.Count];
        bool integers = true;
        int max = -1;
        for (int i = 0; i < cells.Count && integers; i++)
        {
            integers = int.TryParse(cells[i], NumberStyles.None, CultureInfo.InvariantCulture, out labels[i]);
            max = Math.Max(max, labels[i]);
        }
        if (integers)
        {
            var names = new string[max + 1];
            for (int k = 0; k <= max; k++)
            {
                names[k] = k.ToString(CultureInfo.InvariantCulture);
            }
            return (labels, names);
        }
        string[] classNames = cells.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int k = 0; k < classNames.Length; k++)
        {
            index[classNames[k]] = k;
        }
        for (int i = 0; i < cells.Count; i++)
        {
            labels[i] = index[cells[i]];
        }
        return (labels, classNames);
    }
}
