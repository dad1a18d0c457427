namespace CompiledNets.Data;

/// <summary>
/// Enumerates a data set with float targets in mini-batches of contiguous tensors, optionally shuffled anew each
/// epoch (PyTorch: <c>torch.utils.data.DataLoader</c> over a <c>TensorDataset(features, float_targets)</c>): the
/// loader for regression and <see cref="MSELoss"/>.
/// </summary>
/// <remarks>
/// <para>
/// Each <c>foreach</c> over the loader is one epoch and yields <c>(X, Y)</c>: <c>X</c> is <c>[batch, …row shape]</c>,
/// <c>Y</c> is <c>[batch]</c> for targets <c>[n]</c>, <c>[batch, k]</c> for targets <c>[n, k]</c>. Batching, shuffling,
/// <c>drop_last</c>, the reused buffers (a batch is valid until the next one; an epoch allocates nothing) and the
/// checkpointable <see cref="BatchLoader{TItem, TTarget}.Generator"/> are as for <see cref="DataLoader"/>; see
/// <see cref="BatchLoader{TItem, TTarget}"/>.
/// </para>
/// <para>
/// Data sets built from <see cref="RegressionDataset"/> (directly, or through <see cref="Subset{TItem}"/> and
/// <see cref="ConcatDataset{TItem}"/>) are copied row by row from their storage. Any other
/// <c>Dataset&lt;(Tensor Features, Tensor Target)&gt;</c> is read through its indexer, which may allocate; its targets
/// must all have item 0's shape.
/// </para>
/// </remarks>
public sealed class RegressionDataLoader : BatchLoader<(Tensor Features, Tensor Target), Tensor>
{
    private readonly int[] _targetShape;
    private readonly int _targetSize;
    private readonly float[] _t;

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
    /// The data set is empty, or its rows (features or targets) do not all have the same shape.
    /// </exception>
    public RegressionDataLoader(Dataset<(Tensor Features, Tensor Target)> dataset, int batchSize = 1, bool shuffle = false, bool dropLast = false, ulong? seed = null)
        : base(dataset, batchSize, shuffle, dropLast, seed)
    {
        if (Sources is not null)
        {
            var first = (RegressionDataset)Sources[0];
            _targetShape = first.TargetShape.ToArray();
            foreach (var source in Sources)
            {
                var data = (RegressionDataset)source; // a Dataset<(Tensor, Tensor)> of tensor rows is made of these
                if (!data.TargetShape.SequenceEqual(_targetShape))
                {
                    throw new ArgumentException(
                        $"All targets must have the same shape; the first part has {Tensor.ShapeString(_targetShape)} per row but another has " +
                        $"{Tensor.ShapeString(data.TargetShape)}.",
                        nameof(dataset));
                }
            }
        }
        else
        {
            var target = dataset[0].Target;
            ArgumentNullException.ThrowIfNull(target, "dataset[0].Target");
            _targetShape = target.Shape.ToArray();
        }
        _targetSize = (int)Tensor.Product(_targetShape, nameof(dataset));
        _t = new float[checked(BufferRows * _targetSize)];
        BuildBatches();
    }

    /// <summary>The shape of one row's target: <c>[]</c> (batches <c>Y</c> <c>[batch]</c>) or <c>[k, …]</c> (<c>[batch, k, …]</c>).</summary>
    public ReadOnlySpan<int> TargetShape => _targetShape;

    private protected override Tensor FeaturesOf((Tensor Features, Tensor Target) item) => item.Features;

    private protected override Tensor TargetView(int rows, BufferVersion? version) =>
        Tensor.View(_t, 0, [rows, .. _targetShape], version);

    private protected override void CopyTarget(int r, ITensorRows source, int row, int item)
    {
        Tensor targets = ((RegressionDataset)source).Targets;
        targets.Storage.AsSpan(targets.Offset + row * _targetSize, _targetSize).CopyTo(_t.AsSpan(r * _targetSize, _targetSize));
    }

    private protected override void CopyTarget(int r, (Tensor Features, Tensor Target) value, int item)
    {
        ReadOnlySpan<float> t = value.Target.AsSpan();
        if (t.Length != _targetSize)
        {
            throw new InvalidOperationException(
                $"All targets must have the same shape; item 0 has {Tensor.ShapeString(_targetShape)} but item {item} has {Tensor.ShapeString(value.Target.Shape)}.");
        }
        t.CopyTo(_t.AsSpan(r * _targetSize, _targetSize));
    }
}
