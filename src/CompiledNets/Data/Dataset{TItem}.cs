using System.Collections;

namespace CompiledNets.Data;

/// <summary>
/// A map-style data set: a fixed number of items, each read by its index
/// (PyTorch: <c>torch.utils.data.Dataset</c> with <c>__len__</c> and <c>__getitem__</c>).
/// </summary>
/// <typeparam name="TItem">One sample, e.g. <c>(Tensor Features, int Label)</c> for <see cref="TensorDataset"/>.</typeparam>
/// <remarks>
/// Derive from it for a custom data set. <see cref="DataLoader"/> batches any
/// <c>Dataset&lt;(Tensor Features, int Label)&gt;</c>; for <see cref="TensorDataset"/> and the
/// <see cref="Subset{TItem}"/>s and <see cref="ConcatDataset{TItem}"/>s built from it, the loader
/// copies rows straight from the source storage without reading items through the indexer.
/// </remarks>
public abstract class Dataset<TItem> : IReadOnlyList<TItem>
{
    /// <summary>The number of items (PyTorch: <c>len(dataset)</c>).</summary>
    public abstract int Count { get; }

    /// <summary>The item at <paramref name="index"/> (PyTorch: <c>dataset[index]</c>).</summary>
    /// <param name="index">An index in [0, <see cref="Count"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, <see cref="Count"/>).</exception>
    public abstract TItem this[int index] { get; }

    /// <summary>Concatenates two data sets (PyTorch: <c>dataset_a + dataset_b</c>).</summary>
    /// <returns>A <see cref="ConcatDataset{TItem}"/> of <paramref name="first"/> then <paramref name="second"/>.</returns>
    public static ConcatDataset<TItem> operator +(Dataset<TItem> first, Dataset<TItem> second) => new([first, second]);

    /// <summary>Enumerates the items in index order.</summary>
    public IEnumerator<TItem> GetEnumerator()
    {
        int count = Count;
        for (int i = 0; i < count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// Finds the <see cref="TensorDataset"/> or <see cref="RegressionDataset"/> row behind item <paramref name="index"/>, so that a loader
    /// can copy it without building the item; <see langword="false"/> for data sets that are not views of one.
    /// </summary>
    internal virtual bool TryLocate(int index, out ITensorRows? source, out int row)
    {
        source = null;
        row = -1;
        return false;
    }

    /// <summary>Throws the indexer's exception when <paramref name="index"/> is outside [0, <see cref="Count"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, <see cref="Count"/>).</exception>
    protected void CheckIndex(int index)
    {
        int count = Count;
        if ((uint)index >= (uint)count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Index {index} is outside the data set's [0, {count}).");
        }
    }
}
