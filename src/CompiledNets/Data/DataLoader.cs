namespace CompiledNets.Data;

/// <summary>
/// Enumerates a classification data set in mini-batches of contiguous tensors, optionally shuffled anew each
/// epoch (PyTorch: <c>torch.utils.data.DataLoader(dataset, batch_size, shuffle, drop_last, generator)</c>).
/// For float targets (regression, <see cref="MSELoss"/>) use <see cref="RegressionDataLoader"/>.
/// </summary>
/// <remarks>
/// <para>
/// Each <c>foreach</c> over the loader is one epoch and yields <c>(X, Y)</c>: <c>X</c> is
/// <c>[batch, …row shape]</c>, <c>Y</c> is <c>[batch]</c> class indices. Batching, shuffling, <c>drop_last</c>, the
/// reused buffers (a batch is valid until the next one; an epoch allocates nothing) and the checkpointable
/// <see cref="BatchLoader{TItem, TTarget}.Generator"/> are described on <see cref="BatchLoader{TItem, TTarget}"/>.
/// </para>
/// <para>
/// Data sets built from <see cref="TensorDataset"/> (directly, or through <see cref="Subset{TItem}"/>
/// and <see cref="ConcatDataset{TItem}"/>) are copied row by row from their storage, and each label is checked
/// against its data set's <see cref="TensorDataset.NumClasses"/> as it is copied. Any other
/// <c>Dataset&lt;(Tensor Features, int Label)&gt;</c> is read through its indexer, which may allocate.
/// </para>
/// </remarks>
public sealed class DataLoader : BatchLoader<(Tensor Features, int Label), IntTensor>
{
    private readonly int[] _y;

    /// <summary>Creates a loader.</summary>
    /// <param name="dataset">The data set; at least one item. Its size is read once, here.</param>
    /// <param name="batchSize">Rows per batch, ≥ 1 (default 1, as in PyTorch).</param>
    /// <param name="shuffle">Whether each epoch visits the items in a new random order (default <see langword="false"/>: index order).</param>
    /// <param name="dropLast">Whether to skip a last batch smaller than <paramref name="batchSize"/> (default <see langword="false"/>).</param>
    /// <param name="seed">
    /// The seed of <see cref="BatchLoader{TItem, TTarget}.Generator"/>; default <see langword="null"/>: a seed drawn from
    /// <see cref="CompiledNets.Generator.Default"/> (as PyTorch draws from its default generator).
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is ≤ 0.</exception>
    /// <exception cref="ArgumentException">
    /// The data set is empty, or its rows do not all have the same number of values.
    /// </exception>
    public DataLoader(Dataset<(Tensor Features, int Label)> dataset, int batchSize = 1, bool shuffle = false, bool dropLast = false, ulong? seed = null)
        : base(dataset, batchSize, shuffle, dropLast, seed)
    {
        _y = new int[BufferRows];
        BuildBatches();
    }

    private protected override Tensor FeaturesOf((Tensor Features, int Label) item) => item.Features;

    private protected override IntTensor TargetView(int rows, BufferVersion? version) => IntTensor.View(_y, 0, [rows], version);

    private protected override void CopyTarget(int r, ITensorRows source, int row, int item)
    {
        var data = (TensorDataset)source;
        int label = data.Labels.Storage[data.Labels.Offset + row];
        if ((uint)label >= (uint)data.NumClasses)
        {
            ThrowBadLabel(item, label, data.NumClasses);
        }
        _y[r] = label;
    }

    private protected override void CopyTarget(int r, (Tensor Features, int Label) value, int item)
    {
        if (value.Label < 0)
        {
            ThrowBadLabel(item, value.Label, int.MaxValue);
        }
        _y[r] = value.Label;
    }

    private static void ThrowBadLabel(int item, int label, int numClasses) =>
        throw new InvalidOperationException(
            $"Item {item} has label {label}, outside [0, {(numClasses == int.MaxValue ? "∞" : numClasses.ToString(System.Globalization.CultureInfo.InvariantCulture))}); labels must be class indices.");
}
