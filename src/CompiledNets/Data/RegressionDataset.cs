namespace CompiledNets.Data;

/// <summary>
/// A data set over a feature tensor and a float target tensor, for regression and any loss with float targets
/// (<see cref="MSELoss"/>): item <c>i</c> is row <c>i</c> of the features and row <c>i</c> of the targets
/// (PyTorch: <c>torch.utils.data.TensorDataset(features, targets)</c> with a float <c>targets</c>).
/// </summary>
/// <remarks>
/// Nothing is copied: items are views over <see cref="Features"/> and <see cref="Targets"/>. Targets are checked
/// to be finite once here; <see cref="RegressionDataLoader"/> batches them as <c>[batch]</c> for targets <c>[n]</c>
/// and <c>[batch, k, …]</c> for targets <c>[n, k, …]</c> — the shape of the model's output for <see cref="MSELoss"/>.
/// </remarks>
public sealed class RegressionDataset : Dataset<(Tensor Features, Tensor Target)>, ITensorRows
{
    private readonly int[] _rowShape;
    private readonly int[] _targetShape;

    /// <summary>Creates the data set.</summary>
    /// <param name="features">Features, <c>[n, features]</c> (or <c>[n, d1, d2, …]</c>: a row is everything after the first dimension).</param>
    /// <param name="targets">Targets, <c>[n]</c> (one value per row) or <c>[n, k]</c> (<c>k</c> values per row, or more dimensions); finite.</param>
    /// <exception cref="ArgumentException">
    /// <paramref name="features"/> has fewer than two dimensions, <paramref name="targets"/> has none, their first
    /// dimensions differ, or a target is NaN or infinite (the message names its row).
    /// </exception>
    public RegressionDataset(Tensor features, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        features.ThrowIfStale();
        targets.ThrowIfStale();
        if (features.Rank < 2)
        {
            throw new ArgumentException(
                $"Features must be [n, features] (rows first); got shape {Tensor.ShapeString(features.Shape)}.", nameof(features));
        }
        if (targets.Rank < 1)
        {
            throw new ArgumentException($"Targets must be [n] or [n, k]; got a scalar (shape {Tensor.ShapeString(targets.Shape)}).", nameof(targets));
        }
        if (features.Size(0) != targets.Size(0))
        {
            throw new ArgumentException(
                $"Features and targets must have the same number of rows; got features {Tensor.ShapeString(features.Shape)} " +
                $"({features.Size(0)} rows) and targets {Tensor.ShapeString(targets.Shape)} ({targets.Size(0)} rows).",
                nameof(targets));
        }
        _rowShape = features.Shape[1..].ToArray();
        _targetShape = targets.Shape[1..].ToArray();
        RowSize = (int)Tensor.Product(_rowShape, nameof(features));
        TargetSize = (int)Tensor.Product(_targetShape, nameof(targets));
        ReadOnlySpan<float> t = targets.AsSpan();
        for (int i = 0; i < t.Length; i++)
        {
            if (!float.IsFinite(t[i]))
            {
                throw new ArgumentException(
                    $"Target {t[i]} at row {i / Math.Max(1, TargetSize)} is not a finite number; targets must be finite.", nameof(targets));
            }
        }
        Features = features;
        Targets = targets;
    }

    /// <summary>The features, <c>[n, …]</c>, as given (not copied).</summary>
    public Tensor Features { get; }

    /// <summary>The targets, <c>[n]</c> or <c>[n, k, …]</c>, as given (not copied).</summary>
    public Tensor Targets { get; }

    /// <summary>The shape of one row of features, e.g. <c>[features]</c>.</summary>
    public ReadOnlySpan<int> RowShape => _rowShape;

    /// <summary>The number of values in one row of features.</summary>
    public int RowSize { get; }

    /// <summary>The shape of one row's target: <c>[]</c> for targets <c>[n]</c>, <c>[k]</c> for targets <c>[n, k]</c>.</summary>
    public ReadOnlySpan<int> TargetShape => _targetShape;

    /// <summary>The number of values in one row's target (1 for targets <c>[n]</c>).</summary>
    public int TargetSize { get; }

    /// <inheritdoc/>
    public override int Count => Targets.Size(0);

    /// <summary>Row <paramref name="index"/> of the features and of the targets (views: <see cref="RowShape"/> and <see cref="TargetShape"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, <see cref="Count"/>).</exception>
    public override (Tensor Features, Tensor Target) this[int index]
    {
        get
        {
            CheckIndex(index);
            Features.ThrowIfStale();
            Targets.ThrowIfStale();
            return (Tensor.View(Features.Storage, Features.Offset + index * RowSize, _rowShape),
                Tensor.View(Targets.Storage, Targets.Offset + index * TargetSize, _targetShape));
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
