namespace CompiledNets.Data;

/// <summary>
/// A data set whose item <c>i</c> is row <c>i</c> of one feature tensor (<see cref="TensorDataset"/>,
/// <see cref="RegressionDataset"/>): loaders copy its rows straight from storage instead of building items.
/// </summary>
internal interface ITensorRows
{
    /// <summary>The features, <c>[n, …]</c>.</summary>
    Tensor Features { get; }

    /// <summary>The shape of one row.</summary>
    ReadOnlySpan<int> RowShape { get; }

    /// <summary>The number of values in one row.</summary>
    int RowSize { get; }
}
