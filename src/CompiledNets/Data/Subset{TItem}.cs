namespace CompiledNets.Data;

/// <summary>
/// The items of another data set at chosen indices, in the order given
/// (PyTorch: <c>torch.utils.data.Subset(dataset, indices)</c>).
/// </summary>
/// <typeparam name="TItem">The item type of the underlying data set.</typeparam>
public sealed class Subset<TItem> : Dataset<TItem>
{
    private readonly int[] _indices;

    /// <summary>Creates the subset; the indices are copied.</summary>
    /// <param name="dataset">The underlying data set.</param>
    /// <param name="indices">Indices into <paramref name="dataset"/>, each in [0, dataset.Count); repeats are allowed.</param>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside [0, dataset.Count) (the message names its position).</exception>
    public Subset(Dataset<TItem> dataset, ReadOnlySpan<int> indices)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        int count = dataset.Count;
        for (int i = 0; i < indices.Length; i++)
        {
            if ((uint)indices[i] >= (uint)count)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(indices), indices[i], $"Index {indices[i]} at position {i} is outside the data set's [0, {count}).");
            }
        }
        Dataset = dataset;
        _indices = indices.ToArray();
    }

    /// <summary>The underlying data set.</summary>
    public Dataset<TItem> Dataset { get; }

    /// <summary>The indices into <see cref="Dataset"/>, in this subset's order.</summary>
    public ReadOnlySpan<int> Indices => _indices;

    /// <inheritdoc/>
    public override int Count => _indices.Length;

    /// <summary>Item <c>Indices[index]</c> of the underlying data set.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, <see cref="Count"/>).</exception>
    public override TItem this[int index]
    {
        get
        {
            CheckIndex(index);
            return Dataset[_indices[index]];
        }
    }

    internal override bool TryLocate(int index, out ITensorRows? source, out int row)
    {
        CheckIndex(index);
        return Dataset.TryLocate(_indices[index], out source, out row);
    }
}
