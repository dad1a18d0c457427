using System.Collections;

namespace CompiledNets.Data;

/// <summary>
/// Enumerates a classification data set in mini-batches of contiguous tensors, optionally shuffled anew each
/// epoch (PyTorch: <c>torch.utils.data.DataLoader(dataset, batch_size, shuffle, drop_last, generator)</c>).
/// </summary>
/// <remarks>
/// <para>
/// Each <c>foreach</c> over the loader is one epoch and yields <c>(X, Y)</c>: <c>X</c> is
/// <c>[batch, …row shape]</c>, <c>Y</c> is <c>[batch]</c>. Every batch has <see cref="BatchSize"/> rows
/// except the last, which holds the remaining <c>Count % BatchSize</c> rows unless <see cref="DropLast"/>.
/// With <see cref="Shuffle"/>, each epoch draws a new permutation from <see cref="Generator"/>, so the
/// same seed gives the same sequence of epochs, run after run.
/// </para>
/// <para>
/// Batches live in buffers the loader owns and reuses: a batch's tensors are valid until the next batch
/// is read (call <see cref="Tensor.Clone"/> to keep one). In exchange, an epoch allocates nothing: the
/// enumerator is a struct and the tensors of a full and of the last batch are built once. For this,
/// enumerate one epoch at a time; starting a second <c>foreach</c> makes the first one throw.
/// </para>
/// <para>
/// Enumerated through <see cref="IEnumerable{T}"/> (LINQ, <c>ToList()</c>), each batch gets its own
/// tensors over the same buffers, stamped with the batch they hold: reading a kept batch after the loader
/// has moved on throws <see cref="InvalidOperationException"/> instead of silently showing a later batch.
/// To keep batches, clone them: <c>loader.Select(b =&gt; (b.X.Clone(), b.Y.Clone())).ToList()</c>.
/// </para>
/// <para>
/// Data sets built from <see cref="TensorDataset"/> (directly, or through <see cref="Subset{TItem}"/>
/// and <see cref="ConcatDataset{TItem}"/>) are copied row by row from their storage. Any other
/// <c>Dataset&lt;(Tensor Features, int Label)&gt;</c> is read through its indexer, which may allocate.
/// </para>
/// </remarks>
public sealed class DataLoader : IEnumerable<(Tensor X, IntTensor Y)>
{
    private readonly int _count;
    private readonly int[] _rowShape;
    private readonly int _rowSize;
    private readonly int _numClasses;

    // Where each item's row lives, when the data set is made of TensorDatasets; else null.
    private readonly TensorDataset[]? _sources;
    private readonly int[]? _sourceOf;
    private readonly int[]? _rowOf;

    private readonly int[] _order;
    private readonly float[] _x;
    private readonly int[] _y;
    private readonly (Tensor X, IntTensor Y) _fullBatch;
    private readonly (Tensor X, IntTensor Y) _lastBatch;
    private readonly BufferVersion _batchVersion = new(
        "This DataLoader batch was overwritten by a later batch: the loader reuses one buffer for all its batches, " +
        "so batches kept from LINQ or ToList() all share it. Use each batch inside a foreach over the loader, or Clone() " +
        "it to keep it, e.g. loader.Select(b => (b.X.Clone(), b.Y.Clone())).ToList().",
        "the DataLoader's next batch");
    private int _epoch;

    /// <summary>Creates a loader.</summary>
    /// <param name="dataset">The data set; at least one item. Its size is read once, here.</param>
    /// <param name="batchSize">Rows per batch, ≥ 1 (default 1, as in PyTorch).</param>
    /// <param name="shuffle">Whether each epoch visits the items in a new random order (default <see langword="false"/>: index order).</param>
    /// <param name="dropLast">Whether to skip a last batch smaller than <paramref name="batchSize"/> (default <see langword="false"/>).</param>
    /// <param name="seed">
    /// The seed of <see cref="Generator"/>; default <see langword="null"/>: a seed drawn from
    /// <see cref="CompiledNets.Generator.Default"/> (as PyTorch draws from its default generator).
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is ≤ 0.</exception>
    /// <exception cref="ArgumentException">
    /// The data set is empty, or its rows do not all have the same number of values.
    /// </exception>
    public DataLoader(Dataset<(Tensor Features, int Label)> dataset, int batchSize = 1, bool shuffle = false, bool dropLast = false, ulong? seed = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"The batch size must be ≥ 1; got {batchSize}.");
        }
        _count = dataset.Count;
        if (_count == 0)
        {
            throw new ArgumentException("The data set is empty: a DataLoader needs at least one item.", nameof(dataset));
        }
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        Generator = new Generator(seed ?? CompiledNets.Generator.Default.NextUInt64());

        if (dataset.TryLocate(0, out var first, out _))
        {
            _rowShape = first!.RowShape.ToArray();
            _rowSize = first.RowSize;
            var sources = new List<TensorDataset>();
            _sourceOf = new int[_count];
            _rowOf = new int[_count];
            _numClasses = int.MaxValue;
            for (int i = 0; i < _count; i++)
            {
                if (!dataset.TryLocate(i, out var source, out int row))
                {
                    _sourceOf = null;
                    _rowOf = null;
                    break;
                }
                int s = sources.IndexOf(source!);
                if (s < 0)
                {
                    if (source!.RowSize != _rowSize)
                    {
                        throw new ArgumentException(
                            $"All rows must have the same shape; item 0 has {Tensor.ShapeString(_rowShape)} but item {i} has {Tensor.ShapeString(source.RowShape)}.",
                            nameof(dataset));
                    }
                    s = sources.Count;
                    sources.Add(source);
                    _numClasses = Math.Min(_numClasses, source.NumClasses);
                }
                _sourceOf[i] = s;
                _rowOf[i] = row;
            }
            if (_sourceOf is not null)
            {
                _sources = sources.ToArray();
            }
        }
        if (_sources is null)
        {
            var (features, _) = dataset[0];
            ArgumentNullException.ThrowIfNull(features, "dataset[0].Features");
            _rowShape = features.Shape.ToArray();
            _rowSize = features.Numel;
            _numClasses = int.MaxValue;
        }
        else
        {
            _rowShape ??= [];
        }

        _order = new int[_count];
        for (int i = 0; i < _count; i++)
        {
            _order[i] = i;
        }
        int bufferRows = Math.Min(batchSize, _count);
        _x = new float[checked(bufferRows * _rowSize)];
        _y = new int[bufferRows];
        _fullBatch = MakeBatch(bufferRows);
        int rest = _count % batchSize;
        _lastBatch = rest == 0 || bufferRows == rest ? _fullBatch : MakeBatch(rest);
        BatchCount = dropLast ? _count / batchSize : (_count + batchSize - 1) / batchSize;
    }

    /// <summary>The data set being loaded.</summary>
    public Dataset<(Tensor Features, int Label)> Dataset { get; }

    /// <summary>Rows per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch visits the items in a new random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether a last batch smaller than <see cref="BatchSize"/> is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>The number of batches in an epoch (PyTorch: <c>len(loader)</c>).</summary>
    public int BatchCount { get; }

    /// <summary>
    /// The generator that draws each epoch's permutation. Save <see cref="Generator.GetState"/> between epochs
    /// and restore it with <see cref="Generator.SetState"/> to resume a run with the same order of batches.
    /// </summary>
    public Generator Generator { get; }

    /// <summary>Starts an epoch: draws a new order when <see cref="Shuffle"/> and returns its batches.</summary>
    /// <remarks>Starting an epoch makes any earlier, unfinished enumeration of this loader throw on its next step.</remarks>
    public Enumerator GetEnumerator()
    {
        if (Shuffle)
        {
            Generator.RandPerm(_order);
        }
        return new Enumerator(this, ++_epoch);
    }

    /// <summary>
    /// Starts an epoch for LINQ and other <see cref="IEnumerable{T}"/> callers: each batch gets its own tensors,
    /// which throw when read after the loader has moved on to the next batch.
    /// </summary>
    IEnumerator<(Tensor X, IntTensor Y)> IEnumerable<(Tensor X, IntTensor Y)>.GetEnumerator() => new StampedEnumerator(this, GetEnumerator());

    IEnumerator IEnumerable.GetEnumerator() => new StampedEnumerator(this, GetEnumerator());

    private (Tensor X, IntTensor Y) MakeBatch(int rows)
    {
        var shape = new int[_rowShape.Length + 1];
        shape[0] = rows;
        _rowShape.CopyTo(shape, 1);
        return (Tensor.View(_x, 0, shape), IntTensor.View(_y, 0, [rows]));
    }

    private void Fill(int start, int rows)
    {
        _batchVersion.Value++;
        Span<float> x = _x.AsSpan(0, rows * _rowSize);
        if (_sources is not null)
        {
            int[] sourceOf = _sourceOf!, rowOf = _rowOf!;
            for (int r = 0; r < rows; r++)
            {
                int item = _order[start + r];
                TensorDataset source = _sources[sourceOf[item]];
                int row = rowOf[item];
                Tensor features = source.Features;
                features.Storage.AsSpan(features.Offset + row * _rowSize, _rowSize).CopyTo(x.Slice(r * _rowSize, _rowSize));
                int label = source.Labels.Storage[source.Labels.Offset + row];
                if ((uint)label >= (uint)source.NumClasses)
                {
                    ThrowBadLabel(item, label, source.NumClasses);
                }
                _y[r] = label;
            }
        }
        else
        {
            for (int r = 0; r < rows; r++)
            {
                int item = _order[start + r];
                var (features, label) = Dataset[item];
                ReadOnlySpan<float> values = features.AsSpan();
                if (values.Length != _rowSize)
                {
                    throw new InvalidOperationException(
                        $"All rows must have the same shape; item 0 has {Tensor.ShapeString(_rowShape)} but item {item} has {Tensor.ShapeString(features.Shape)}.");
                }
                if (label < 0)
                {
                    ThrowBadLabel(item, label, _numClasses);
                }
                values.CopyTo(x.Slice(r * _rowSize, _rowSize));
                _y[r] = label;
            }
        }
    }

    private static void ThrowBadLabel(int item, int label, int numClasses) =>
        throw new InvalidOperationException(
            $"Item {item} has label {label}, outside [0, {(numClasses == int.MaxValue ? "∞" : numClasses.ToString(System.Globalization.CultureInfo.InvariantCulture))}); labels must be class indices.");

    /// <summary>
    /// The batches of one epoch through <see cref="IEnumerable{T}"/>: like <see cref="Enumerator"/>, but each batch
    /// is a new pair of views stamped with the batch's version, so a batch kept past the next one throws when read.
    /// </summary>
    private sealed class StampedEnumerator(DataLoader loader, Enumerator inner) : IEnumerator<(Tensor X, IntTensor Y)>
    {
        private Enumerator _inner = inner;

        public (Tensor X, IntTensor Y) Current { get; private set; }

        object IEnumerator.Current => Current;

        public bool MoveNext()
        {
            if (!_inner.MoveNext())
            {
                Current = default;
                return false;
            }
            var (x, y) = _inner.Current;
            Current = (Tensor.View(loader._x, 0, x.Shape.ToArray(), loader._batchVersion),
                IntTensor.View(loader._y, 0, y.Shape.ToArray(), loader._batchVersion));
            return true;
        }

        public void Reset() => _inner.Reset();

        public void Dispose() => _inner.Dispose();
    }

    /// <summary>The batches of one epoch; a struct, so a <c>foreach</c> over a <see cref="DataLoader"/> allocates nothing.</summary>
    public struct Enumerator : IEnumerator<(Tensor X, IntTensor Y)>
    {
        private readonly DataLoader _loader;
        private readonly int _epoch;
        private int _next;
        private (Tensor X, IntTensor Y) _current;

        internal Enumerator(DataLoader loader, int epoch)
        {
            _loader = loader;
            _epoch = epoch;
            _next = 0;
            _current = default;
        }

        /// <summary>The current batch: <c>X</c> <c>[batch, …row shape]</c>, <c>Y</c> <c>[batch]</c>; valid until the next <see cref="MoveNext"/>.</summary>
        public readonly (Tensor X, IntTensor Y) Current => _current;

        readonly object IEnumerator.Current => _current;

        /// <summary>Copies the next batch into the loader's buffers.</summary>
        /// <returns><see langword="false"/> at the end of the epoch.</returns>
        /// <exception cref="InvalidOperationException">Another epoch of the same loader was started since this one.</exception>
        public bool MoveNext()
        {
            var loader = _loader;
            if (loader._epoch != _epoch)
            {
                throw new InvalidOperationException(
                    "Another epoch of this DataLoader was started while this one was running; its batches share one buffer, so enumerate one epoch at a time.");
            }
            int remaining = loader._count - _next;
            int rows = Math.Min(loader.BatchSize, remaining);
            if (rows <= 0 || (rows < loader.BatchSize && loader.DropLast))
            {
                _current = default;
                return false;
            }
            loader.Fill(_next, rows);
            _current = rows == loader._fullBatch.Y.Size(0) ? loader._fullBatch : loader._lastBatch;
            _next += rows;
            return true;
        }

        /// <summary>Not supported: start a new epoch with <see cref="DataLoader.GetEnumerator"/>.</summary>
        /// <exception cref="NotSupportedException">Always.</exception>
        public readonly void Reset() => throw new NotSupportedException("Start a new epoch with a new foreach over the DataLoader.");

        /// <summary>Does nothing: the buffers belong to the loader.</summary>
        public readonly void Dispose()
        {
        }
    }
}
