namespace CompiledNets.Data;

/// <summary>
/// A classification data set over a feature tensor and a label tensor: item <c>i</c> is row <c>i</c> of
/// the features and label <c>i</c> (PyTorch: <c>torch.utils.data.TensorDataset(features, labels)</c>).
/// </summary>
/// <remarks>
/// Nothing is copied: the items are views over <see cref="Features"/>, so writes to the features show through.
/// Labels are checked once here; <see cref="DataLoader"/> checks them again as it copies each batch, so a
/// label changed later is still caught before it reaches a loss.
/// </remarks>
public sealed class TensorDataset : Dataset<(Tensor Features, int Label)>, ITensorRows
{
    private readonly int[] _rowShape;

    /// <summary>Creates the data set.</summary>
    /// <param name="features">Features, <c>[n, features]</c> (or <c>[n, d1, d2, …]</c>: a row is everything after the first dimension).</param>
    /// <param name="labels">Class indices, <c>[n]</c>, each in [0, <paramref name="numClasses"/>).</param>
    /// <param name="numClasses">
    /// The number of classes; labels must lie in [0, numClasses). Default <see langword="null"/>: one more than
    /// the largest label (and labels must still be ≥ 0).
    /// </param>
    /// <exception cref="ArgumentException">
    /// <paramref name="features"/> has fewer than two dimensions, <paramref name="labels"/> is not one-dimensional,
    /// or their first dimensions differ.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="numClasses"/> is ≤ 0, or a label is outside [0, numClasses) (the message names its row).
    /// </exception>
    public TensorDataset(Tensor features, IntTensor labels, int? numClasses = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        features.ThrowIfStale();
        if (features.Rank < 2)
        {
            throw new ArgumentException(
                $"Features must be [n, features] (rows first); got shape {Tensor.ShapeString(features.Shape)}.", nameof(features));
        }
        if (labels.Rank != 1)
        {
            throw new ArgumentException($"Labels must be [n]; got shape {Tensor.ShapeString(labels.Shape)}.", nameof(labels));
        }
        if (features.Size(0) != labels.Size(0))
        {
            throw new ArgumentException(
                $"Features and labels must have the same number of rows; got features {Tensor.ShapeString(features.Shape)} " +
                $"({features.Size(0)} rows) and labels {Tensor.ShapeString(labels.Shape)} ({labels.Size(0)} rows).",
                nameof(labels));
        }
        if (numClasses is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "The number of classes must be ≥ 1.");
        }
        ReadOnlySpan<int> y = labels.AsSpan();
        int max = -1;
        for (int i = 0; i < y.Length; i++)
        {
            if (y[i] < 0 || (numClasses is int c && y[i] >= c))
            {
                throw new ArgumentOutOfRangeException(
                    nameof(labels), y[i],
                    $"Label {y[i]} at row {i} is outside [0, {(numClasses is int k ? k.ToString(System.Globalization.CultureInfo.InvariantCulture) : "∞")}); labels must be class indices.");
            }
            max = Math.Max(max, y[i]);
        }
        Features = features;
        Labels = labels;
        NumClasses = numClasses ?? max + 1;
        _rowShape = features.Shape[1..].ToArray();
        RowSize = (int)Tensor.Product(_rowShape, nameof(features));
    }

    /// <summary>The features, <c>[n, …]</c>, as given (not copied).</summary>
    public Tensor Features { get; }

    /// <summary>The labels, <c>[n]</c>, as given (not copied).</summary>
    public IntTensor Labels { get; }

    /// <summary>The number of classes: as given, or one more than the largest label.</summary>
    public int NumClasses { get; }

    /// <summary>The shape of one row, e.g. <c>[features]</c>.</summary>
    public ReadOnlySpan<int> RowShape => _rowShape;

    /// <summary>The number of values in one row (the product of <see cref="RowShape"/>).</summary>
    public int RowSize { get; }

    /// <inheritdoc/>
    public override int Count => Labels.Size(0);

    /// <summary>Row <paramref name="index"/> of the features (a view, <see cref="RowShape"/>) and its label.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, <see cref="Count"/>).</exception>
    public override (Tensor Features, int Label) this[int index]
    {
        get
        {
            CheckIndex(index);
            Features.ThrowIfStale();
            return (Tensor.View(Features.Storage, Features.Offset + index * RowSize, _rowShape), Labels[index]);
        }
    }

    internal override bool TryLocate(int index, out ITensorRows? source, out int row)
    {
        CheckIndex(index);
        source = this;
        row = index;
        return true;
    }
}
