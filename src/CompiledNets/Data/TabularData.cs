namespace CompiledNets.Data;

/// <summary>
/// Numeric features and class labels read from a table, e.g. by <see cref="CsvLoader.Load(string, string?, bool, char)"/>.
/// </summary>
/// <param name="Features">Features, <c>[rows, FeatureNames.Length]</c>.</param>
/// <param name="Labels">Class indices, <c>[rows]</c>, each in [0, <c>ClassNames.Length</c>).</param>
/// <param name="FeatureNames">The feature columns' names, in column order.</param>
/// <param name="ClassNames">The class of each label index: label <c>k</c> is <c>ClassNames[k]</c>.</param>
public sealed record TabularData(Tensor Features, IntTensor Labels, string[] FeatureNames, string[] ClassNames)
{
    /// <summary>The number of classes, <c>ClassNames.Length</c>.</summary>
    public int NumClasses => ClassNames.Length;

    /// <summary>The number of rows.</summary>
    public int Count => Labels.Size(0);

    /// <summary>A <see cref="TensorDataset"/> over the same tensors, with labels checked against <see cref="NumClasses"/>.</summary>
    public TensorDataset ToDataset() => new(Features, Labels, NumClasses);

    /// <summary>A one-line summary, e.g. <c>TabularData(150 rows; features: a, b, c, d; classes: setosa, versicolor, virginica)</c>.</summary>
    public override string ToString() =>
        $"TabularData({Count} rows; features: {string.Join(", ", FeatureNames)}; classes: {string.Join(", ", ClassNames)})";
}
