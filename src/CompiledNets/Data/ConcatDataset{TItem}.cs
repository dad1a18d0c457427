namespace CompiledNets.Data;

/// <summary>
/// Several data sets one after the other: the items of the first, then of the second, and so on
/// (PyTorch: <c>torch.utils.data.ConcatDataset(datasets)</c>).
/// </summary>
/// <typeparam name="TItem">The item type of the parts.</typeparam>
/// <remarks>The parts' sizes are read once, when the concatenation is built (as in PyTorch).</remarks>
public sealed class ConcatDataset<TItem> : Dataset<TItem>
{
    private readonly Dataset<TItem>[] _datasets;
    private readonly int[] _cumulativeSizes;

    /// <summary>Concatenates <paramref name="datasets"/> in order.</summary>
    /// <param name="datasets">The parts; at least one. Empty parts are allowed and contribute nothing.</param>
    /// <exception cref="ArgumentException"><paramref name="datasets"/> is empty or holds a <see langword="null"/>.</exception>
    /// <exception cref="OverflowException">The total count exceeds <see cref="int.MaxValue"/>.</exception>
    public ConcatDataset(IEnumerable<Dataset<TItem>> datasets)
    {
        ArgumentNullException.ThrowIfNull(datasets);
        _datasets = datasets.ToArray();
        if (_datasets.Length == 0)
        {
            throw new ArgumentException("ConcatDataset needs at least one data set; got none.", nameof(datasets));
        }
        _cumulativeSizes = new int[_datasets.Length];
        int total = 0;
        for (int i = 0; i < _datasets.Length; i++)
        {
            if (_datasets[i] is null)
            {
                throw new ArgumentException($"Data set {i} of the concatenation is null.", nameof(datasets));
            }
            total = checked(total + _datasets[i].Count);
            _cumulativeSizes[i] = total;
        }
    }

    /// <summary>The parts, in order.</summary>
    public IReadOnlyList<Dataset<TItem>> Datasets => _datasets;

    /// <summary>The running totals of the parts' sizes (PyTorch: <c>cumulative_sizes</c>): part <c>i</c> ends before <c>CumulativeSizes[i]</c>.</summary>
    public ReadOnlySpan<int> CumulativeSizes => _cumulativeSizes;

    /// <inheritdoc/>
    public override int Count => _cumulativeSizes[^1];

    /// <summary>The item at <paramref name="index"/> of the concatenation, read from the part that holds it.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, <see cref="Count"/>).</exception>
    public override TItem this[int index]
    {
        get
        {
            var (part, local) = Locate(index);
            return _datasets[part][local];
        }
    }

    internal override bool TryLocate(int index, out ITensorRows? source, out int row)
    {
        var (part, local) = Locate(index);
        return _datasets[part].TryLocate(local, out source, out row);
    }

    private (int Part, int Local) Locate(int index)
    {
        CheckIndex(index);
        // The first part whose running total exceeds index (upper bound), skipping empty parts.
        int lo = 0, hi = _cumulativeSizes.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_cumulativeSizes[mid] <= index)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        int start = lo == 0 ? 0 : _cumulativeSizes[lo - 1];
        return (lo, index - start);
    }
}
