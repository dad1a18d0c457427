namespace CompiledNets.Data;

/// <summary>
/// Numeric features and a numeric target read from a table, e.g. by
/// <see cref="CsvLoader.LoadRegression(string, string?, IReadOnlyList{string}?, bool, char)"/>.
/// </summary>
/// <param name="Features">Features, <c>[rows, FeatureNames.Length]</c>.</param>
/// <param name="Targets">Targets, <c>[rows]</c>.</param>
/// <param name="FeatureNames">The feature columns' names, in order.</param>
/// <param name="TargetName">The target column's name.</param>
public sealed record RegressionData(Tensor Features, Tensor Targets, string[] FeatureNames, string TargetName)
{
    /// <summary>The number of rows.</summary>
    public int Count => Targets.Size(0);

    /// <summary>A <see cref="RegressionDataset"/> over the same tensors.</summary>
    public RegressionDataset ToDataset() => new(Features, Targets);

    /// <summary>A one-line summary, e.g. <c>RegressionData(150 rows; features: a, b, c; target: petal_width)</c>.</summary>
    public override string ToString() => $"RegressionData({Count} rows; features: {string.Join(", ", FeatureNames)}; target: {TargetName})";
}
