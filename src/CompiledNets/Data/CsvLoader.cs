using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;

namespace CompiledNets.Data;

/// <summary>
/// Reads a table from CSV: numeric feature columns plus one label column of class names or integers
/// (<see cref="Load(string, string?, bool, char)"/>; pandas: <c>pd.read_csv</c> then <c>LabelEncoder</c>), or one
/// numeric target column (<see cref="LoadRegression(string, string?, IReadOnlyList{string}?, bool, char)"/>). Built on CsvHelper (RFC 4180: quoting, escapes).
/// </summary>
/// <remarks>
/// Numbers are read with the invariant culture (<c>5.1</c>, <c>-3e-2</c>); leading and trailing spaces are
/// ignored, as are blank lines. Labels: when every label is a non-negative integer, label <c>k</c> is class
/// <c>k</c> and the class names are <c>"0"</c> … <c>"max"</c>; otherwise the distinct names, sorted ordinally,
/// become classes 0, 1, … (as scikit-learn's <c>LabelEncoder</c> sorts them: Iris gives setosa, versicolor, virginica).
/// A label column of numbers that are not all integers (<c>3.5</c>, <c>-1.5</c>) is an error rather than classes:
/// read a numeric target with <see cref="LoadRegression(string, string?, IReadOnlyList{string}?, bool, char)"/>, which
/// returns the targets as a float tensor.
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
    /// than the header; a feature cell is empty, not a number, or not finite; a label cell is empty; the labels are all
    /// numbers but not all integers (a numeric target: the message points to <c>LoadRegression</c>). The message
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
        var table = Read(reader, hasHeader, delimiter, sourceName, header =>
        {
            int label = FindLabel(header, labelColumn, sourceName);
            return new Columns(Enumerable.Range(0, header.Length).Where(c => c != label).ToArray(), label, TextLabel: true);
        }, FeatureHintForClassification);
        var (labels, classNames) = EncodeLabels(table.LabelCells, table.Header[table.Columns.Target], sourceName);
        return new TabularData(Tensor.FromArray(table.Features, table.Rows, table.Columns.Features.Length), IntTensor.FromArray(labels),
            table.FeatureNames, classNames);
    }

    /// <summary>
    /// Reads a regression table from the CSV file at <paramref name="path"/>: numeric feature columns and one numeric target
    /// column, read as numbers (pandas: <c>df[features].values, df[target].values</c>).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="targetColumn">The target column's header name; default <see langword="null"/>: the last column.</param>
    /// <param name="featureColumns">
    /// The feature columns, in the order wanted; default <see langword="null"/>: every column but the target. Other columns
    /// (e.g. a class name) are skipped without being read.
    /// </param>
    /// <param name="hasHeader">Whether the first row names the columns (default <see langword="true"/>); without one, columns are named <c>column1</c>, <c>column2</c>, ….</param>
    /// <param name="delimiter">The field separator (default <c>','</c>).</param>
    /// <returns>Features <c>[rows, features]</c>, targets <c>[rows]</c>, and the column names.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DataFormatException">
    /// The file is empty or has no data rows; a named column is not found, or the target is also a feature; a row has
    /// another number of fields than the header; a feature or target cell is empty, not a number, or not finite. The
    /// message names the file, the data row, the line and the column.
    /// </exception>
    public static RegressionData LoadRegression(string path, string? targetColumn = null, IReadOnlyList<string>? featureColumns = null, bool hasHeader = true, char delimiter = ',')
    {
        ArgumentNullException.ThrowIfNull(path);
        using var reader = new StreamReader(path);
        return LoadRegression(reader, targetColumn, featureColumns, hasHeader, delimiter, Path.GetFileName(path));
    }

    /// <summary>Reads a regression table from CSV text; see <see cref="LoadRegression(string, string?, IReadOnlyList{string}?, bool, char)"/>.</summary>
    /// <param name="reader">The text.</param>
    /// <param name="targetColumn">The target column's header name; default <see langword="null"/>: the last column.</param>
    /// <param name="featureColumns">The feature columns; default <see langword="null"/>: every column but the target.</param>
    /// <param name="hasHeader">Whether the first row names the columns (default <see langword="true"/>).</param>
    /// <param name="delimiter">The field separator (default <c>','</c>).</param>
    /// <param name="sourceName">The name used in error messages (default <c>"CSV"</c>).</param>
    /// <exception cref="DataFormatException">See <see cref="LoadRegression(string, string?, IReadOnlyList{string}?, bool, char)"/>.</exception>
    public static RegressionData LoadRegression(TextReader reader, string? targetColumn = null, IReadOnlyList<string>? featureColumns = null,
        bool hasHeader = true, char delimiter = ',', string sourceName = "CSV")
    {
        ArgumentNullException.ThrowIfNull(reader);
        var table = Read(reader, hasHeader, delimiter, sourceName, header =>
        {
            int target = FindLabel(header, targetColumn, sourceName);
            int[] features;
            if (featureColumns is null)
            {
                features = Enumerable.Range(0, header.Length).Where(c => c != target).ToArray();
            }
            else
            {
                features = featureColumns.Select(name => FindColumn(header, name, sourceName)).ToArray();
                if (features.Length == 0)
                {
                    throw new DataFormatException($"{sourceName}: featureColumns is empty; name at least one feature column.");
                }
                if (Array.IndexOf(features, target) >= 0)
                {
                    throw new DataFormatException(
                        $"{sourceName}: column '{header[target]}' is the target and cannot also be a feature.", null, header[target]);
                }
            }
            return new Columns(features, target, TextLabel: false);
        }, (header, c) => featureColumns is null
            ? $" To leave column '{header[c]}' out, pass featureColumns: the numeric columns to use."
            : "");
        return new RegressionData(Tensor.FromArray(table.Features, table.Rows, table.Columns.Features.Length),
            Tensor.FromArray(table.Targets, table.Rows), table.FeatureNames, table.Header[table.Columns.Target]);
    }

    /// <summary>Which columns are features (in order) and which is the label or target.</summary>
    private readonly record struct Columns(int[] Features, int Target, bool TextLabel);

    /// <summary>What <see cref="Read"/> found: the header, the features row-major, the numeric targets or the label cells.</summary>
    private sealed record Table(string[] Header, Columns Columns, int Rows, float[] Features, float[] Targets, List<string> LabelCells)
    {
        public string[] FeatureNames => Columns.Features.Select(c => Header[c]).ToArray();
    }

    private static string FeatureHintForClassification(string[] header, int c) =>
        $" If '{header[c]}' is the label column, pass labelColumn: \"{header[c]}\" (the default is the last column).";

    /// <summary>Parses the CSV: the header (or generated names), then every data row, the chosen columns as numbers or label text.</summary>
    private static Table Read(TextReader reader, bool hasHeader, char delimiter, string sourceName, Func<string[], Columns> chooseColumns,
        Func<string[], int, string> notANumberHint)
    {
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
        Columns columns = default;
        var features = new List<float>();
        var targets = new List<float>();
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
                        columns = chooseColumns(header);
                        continue;
                    }
                    header = new string[record.Length];
                    for (int c = 0; c < header.Length; c++)
                    {
                        header[c] = "column" + (c + 1).ToString(CultureInfo.InvariantCulture);
                    }
                    columns = chooseColumns(header);
                }
                dataRow++;
                if (record.Length != header.Length)
                {
                    throw new DataFormatException(
                        $"{sourceName}: data row {dataRow} (line {parser.RawRow}) has {record.Length} fields; expected {header.Length} like the {(hasHeader ? "header" : "first row")}.",
                        dataRow);
                }
                foreach (int c in columns.Features)
                {
                    features.Add(Number(record[c], c, "", notANumberHint(header, c)));
                }
                int t = columns.Target;
                if (columns.TextLabel)
                {
                    if (record[t].Length == 0)
                    {
                        throw new DataFormatException(
                            $"{sourceName}: data row {dataRow} (line {parser.RawRow}), column '{header[t]}' ({t + 1}): the label is empty.",
                            dataRow, header[t]);
                    }
                    labelCells.Add(record[t]);
                }
                else
                {
                    targets.Add(Number(record[t], t, "the target ", ""));
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
        return new Table(header, columns, dataRow, features.ToArray(), targets.ToArray(), labelCells);

        float Number(string cell, int c, string role, string hint)
        {
            if (!float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value))
            {
                string what = cell.Length == 0 ? "is empty" : float.IsFinite(value) ? $"'{cell}' is not a number" : $"'{cell}' is not a finite number";
                throw new DataFormatException(
                    $"{sourceName}: data row {dataRow} (line {parser.RawRow}), column '{header![c]}' ({c + 1}): {role}{what}; expected a number such as 5.1." +
                    (cell.Length > 0 && float.IsFinite(value) ? hint : ""),
                    dataRow, header[c]);
            }
            return value;
        }
    }

    private static int FindLabel(string[] header, string? labelColumn, string sourceName)
    {
        if (header.Length < 2)
        {
            throw new DataFormatException(
                $"{sourceName}: the first row has {header.Length} column(s); expected at least one feature column and a label column. " +
                "If the file is separated by something other than commas, pass delimiter: (e.g. ';' or '\\t').");
        }
        return labelColumn is null ? header.Length - 1 : FindColumn(header, labelColumn, sourceName);
    }

    private static int FindColumn(string[] header, string name, string sourceName)
    {
        int index = Array.IndexOf(header, name);
        if (index < 0)
        {
            throw new DataFormatException(
                $"{sourceName}: no column is named '{name}'; the columns are {string.Join(", ", header.Select(h => $"'{h}'"))}.",
                null, name);
        }
        return index;
    }

    private static (int[] Labels, string[] ClassNames) EncodeLabels(List<string> cells, string column, string sourceName)
    {
        // Numbers that are not all integers are measurements, not class names: never guess classes from them.
        int firstFraction = -1;
        bool allNumbers = true;
        for (int i = 0; i < cells.Count && allNumbers; i++)
        {
            allNumbers = double.TryParse(cells[i], NumberStyles.Float, CultureInfo.InvariantCulture, out _);
            if (allNumbers && firstFraction < 0 && !int.TryParse(cells[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            {
                firstFraction = i;
            }
        }
        if (allNumbers && firstFraction >= 0)
        {
            throw new DataFormatException(
                $"{sourceName}: the label column '{column}' holds numbers that are not class indices ('{cells[firstFraction]}' at data row {firstFraction + 1}). " +
                $"To read it as a numeric target for regression, use CsvLoader.LoadRegression(path, targetColumn: \"{column}\"); " +
                "if it holds classes, write them as integers (0, 1, 2, …) or names.",
                firstFraction + 1, column);
        }
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
