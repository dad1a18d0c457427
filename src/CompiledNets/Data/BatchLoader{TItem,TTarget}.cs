using System.Collections;

namespace CompiledNets.Data;

/// <summary>
/// What <see cref="DataLoader"/> (class indices) and <see cref="RegressionDataLoader"/> (float targets) share: mini-batches of
/// contiguous tensors in reused buffers, shuffled anew each epoch from a checkpointable <see cref="Generator"/>
/// (PyTorch: <c>torch.utils.data.DataLoader(dataset, batch_size, shuffle, drop_last, generator)</c>).
/// </summary>
/// <typeparam name="TItem">The data set's item: <c>(Tensor Features, int Label)</c> or <c>(Tensor Features, Tensor Target)</c>.</typeparam>
/// <typeparam name="TTarget">The batch's targets: <see cref="IntTensor"/> <c>[batch]</c> or <see cref="Tensor"/> <c>[batch, …]</c>.</typeparam>
/// <remarks>
/// <para>
/// Each <c>foreach</c> over the loader is one epoch and yields <c>(X, Y)</c>: <c>X</c> is <c>[batch, …row shape]</c>.
/// Every batch has <see cref="BatchSize"/> rows except the last, which holds the remaining <c>Count % BatchSize</c> rows
/// unless <see cref="DropLast"/>. With <see cref="Shuffle"/>, each epoch draws a new permutation from
/// <see cref="Generator"/>, so the same seed gives the same sequence of epochs, run after run.
/// </para>
/// <para>
/// Batches live in buffers the loader owns and reuses: a batch's tensors are valid until the next batch is read (call
/// <c>Clone()</c> to keep one). In exchange, an epoch allocates nothing: the enumerator is a struct and the tensors of
/// a full and of the last batch are built once. For this, enumerate one epoch at a time; starting a second
/// <c>foreach</c> makes the first one throw.
/// </para>
/// <para>
/// Enumerated through <see cref="IEnumerable{T}"/> (LINQ, <c>ToList()</c>), each batch gets its own tensors over the
/// same buffers, stamped with the batch they hold: reading a kept batch after the loader has moved on throws
/// <see cref="InvalidOperationException"/> instead of silently showing a later batch. To keep batches, clone them:
/// <c>loader.Select(b =&gt; (b.X.Clone(), b.Y.Clone())).ToList()</c>.
/// </para>
/// </remarks>
public abstract class BatchLoader<TItem, TTarget> : IEnumerable<(Tensor X, TTarget Y)>
    where TTarget : class
{
    private readonly int _count;
    private readonly int[] _rowShape;
    private readonly int _rowSize;

    // Where each item's row lives, when the data set is made of tensor data sets; else null.
    private readonly ITensorRows[]? _sources;
    private readonly int[]? _sourceOf;
    private readonly int[]? _rowOf;

    private readonly int[] _order;
    private readonly float[] _x;
    private (Tensor X, TTarget Y) _fullBatch;
    private (Tensor X, TTarget Y) _lastBatch;
    private readonly BufferVersion _batchVersion = new(
        "This DataLoader batch was overwritten by a later batch: the loader reuses one buffer for all its batches, " +
        "so batches kept from LINQ or ToList() all share it. Use each batch inside a foreach over the loader, or Clone() " +
        "it to keep it, e.g. loader.Select(b => (b.X.Clone(), b.Y.Clone())).ToList().",
        "the DataLoader's next batch");
    private int _epoch;

    /// <summary>Reads the data set's layout and allocates the feature buffer; the derived class then allocates its targets and calls <see cref="BuildBatches"/>.</summary>
    private protected BatchLoader(Dataset<TItem> dataset, int batchSize, bool shuffle, bool dropLast, ulong? seed)
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
            var sources = new List<ITensorRows>();
            _sourceOf = new int[_count];
            _rowOf = new int[_count];
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
            var features = FeaturesOf(dataset[0]);
            ArgumentNullException.ThrowIfNull(features, "dataset[0].Features");
            _rowShape = features.Shape.ToArray();
            _rowSize = features.Numel;
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
        BufferRows = Math.Min(batchSize, _count);
        _x = new float[checked(BufferRows * _rowSize)];
        BatchCount = dropLast ? _count / batchSize : (_count + batchSize - 1) / batchSize;
    }

    /// <summary>The data set being loaded.</summary>
    public Dataset<TItem> Dataset { get; }

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
    /// (or pass it to <see cref="Checkpoint.Save"/>) and restore it with <see cref="Generator.SetState"/> to resume a
    /// run with the same order of batches.
    /// </summary>
    public Generator Generator { get; }

    /// <summary>The rows the buffers hold: the batch size, or the data set's size when smaller.</summary>
    private protected int BufferRows { get; }

    /// <summary>The tensor data sets behind the items (each item's row copied from storage), or <see langword="null"/>.</summary>
    private protected ITensorRows[]? Sources => _sources;

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
    IEnumerator<(Tensor X, TTarget Y)> IEnumerable<(Tensor X, TTarget Y)>.GetEnumerator() => new StampedEnumerator(this, GetEnumerator());

    IEnumerator IEnumerable.GetEnumerator() => new StampedEnumerator(this, GetEnumerator());

    /// <summary>Builds the views of a full and of the last batch; the derived constructor calls it once its target buffer exists.</summary>
    private Device _device = Device.Cpu;
    private DeviceBuffer<float>? _deviceX;

    /// <summary>
    /// The device the feature batches are copied to (the tutorial's <c>xb.to(device)</c>, done once per batch by the
    /// loader into one device buffer it reuses); <see cref="CompiledNets.Device.Cpu"/> by default. Targets stay on the host
    /// (losses read labels there). Set it to the model's device: <c>loader.Device = net.Device</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">(set) The device does not exist on this machine.</exception>
    public Device Device
    {
        get => _device;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value == _device)
            {
                return;
            }
            var buffer = value.IsIlgpu ? DeviceContext.For(value).Allocate<float>(Math.Max(1L, (long)BufferRows * _rowSize)) : null;
            _deviceX?.Dispose();
            _deviceX = buffer;
            _device = value;
            BuildBatches();
        }
    }

    private protected void BuildBatches()
    {
        _fullBatch = MakeBatch(BufferRows, null);
        int rest = _count % BatchSize;
        _lastBatch = rest == 0 || BufferRows == rest ? _fullBatch : MakeBatch(rest, null);
    }

    private (Tensor X, TTarget Y) MakeBatch(int rows, BufferVersion? version)
    {
        var shape = new int[_rowShape.Length + 1];
        shape[0] = rows;
        _rowShape.CopyTo(shape, 1);
        var x = Tensor.View(_x, 0, shape, version);
        if (_deviceX is not null)
        {
            x.OnDevice(_device, _deviceX.Slice(0, (long)rows * _rowSize));
        }
        return (x, TargetView(rows, version));
    }

    /// <summary>The features of an item read through the data set's indexer.</summary>
    private protected abstract Tensor FeaturesOf(TItem item);

    /// <summary>A view of the first <paramref name="rows"/> targets of the target buffer, stamped with <paramref name="version"/> when given.</summary>
    private protected abstract TTarget TargetView(int rows, BufferVersion? version);

    /// <summary>Copies the target of row <paramref name="row"/> of <paramref name="source"/> (data set item <paramref name="item"/>) to batch row <paramref name="r"/>.</summary>
    private protected abstract void CopyTarget(int r, ITensorRows source, int row, int item);

    /// <summary>Copies the target of <paramref name="value"/> (data set item <paramref name="item"/>) to batch row <paramref name="r"/>.</summary>
    private protected abstract void CopyTarget(int r, TItem value, int item);

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
                ITensorRows source = _sources[sourceOf[item]];
                int row = rowOf[item];
                Tensor features = source.Features;
                features.Storage.AsSpan(features.Offset + row * _rowSize, _rowSize).CopyTo(x.Slice(r * _rowSize, _rowSize));
                CopyTarget(r, source, row, item);
            }
        }
        else
        {
            for (int r = 0; r < rows; r++)
            {
                int item = _order[start + r];
                TItem value = Dataset[item];
                Tensor features = FeaturesOf(value);
                ReadOnlySpan<float> values = features.AsSpan();
                if (values.Length != _rowSize)
                {
                    throw new InvalidOperationException(
                        $"All rows must have the same shape; item 0 has {Tensor.ShapeString(_rowShape)} but item {item} has {Tensor.ShapeString(features.Shape)}.");
                }
                CopyTarget(r, value, item);
                values.CopyTo(x.Slice(r * _rowSize, _rowSize));
            }
        }
    }

    /// <summary>
    /// The batches of one epoch through <see cref="IEnumerable{T}"/>: like <see cref="Enumerator"/>, but each batch
    /// is a new pair of views stamped with the batch's version, so a batch kept past the next one throws when read.
    /// </summary>
    private sealed class StampedEnumerator(BatchLoader<TItem, TTarget> loader, Enumerator inner) : IEnumerator<(Tensor X, TTarget Y)>
    {
        private Enumerator _inner = inner;

        public (Tensor X, TTarget Y) Current { get; private set; }

        object IEnumerator.Current => Current;

        public bool MoveNext()
        {
            if (!_inner.MoveNext())
            {
                Current = default;
                return false;
            }
            Current = loader.MakeBatch(_inner.Current.X.Size(0), loader._batchVersion);
            return true;
        }

        public void Reset() => _inner.Reset();

        public void Dispose() => _inner.Dispose();
    }

    /// <summary>The batches of one epoch; a struct, so a <c>foreach</c> over a loader allocates nothing.</summary>
    public struct Enumerator : IEnumerator<(Tensor X, TTarget Y)>
    {
        private readonly BatchLoader<TItem, TTarget> _loader;
        private readonly int _epoch;
        private int _next;
        private (Tensor X, TTarget Y) _current;

        internal Enumerator(BatchLoader<TItem, TTarget> loader, int epoch)
        {
            _loader = loader;
            _epoch = epoch;
            _next = 0;
            _current = default;
        }

        /// <summary>The current batch: <c>X</c> <c>[batch, …row shape]</c> and its targets; valid until the next <see cref="MoveNext"/>.</summary>
        public readonly (Tensor X, TTarget Y) Current => _current;

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
            if (loader._deviceX is { } deviceX)
            {
                deviceX.Slice(0, (long)rows * loader._rowSize).CopyFromHost(loader._x.AsSpan(0, rows * loader._rowSize));
            }
            _current = rows == loader.BufferRows ? loader._fullBatch : loader._lastBatch;
            _next += rows;
            return true;
        }

        /// <summary>Not supported: start a new epoch with <see cref="BatchLoader{TItem, TTarget}.GetEnumerator"/>.</summary>
        /// <exception cref="NotSupportedException">Always.</exception>
        public readonly void Reset() => throw new NotSupportedException("Start a new epoch with a new foreach over the DataLoader.");

        /// <summary>Does nothing: the buffers belong to the loader.</summary>
        public readonly void Dispose()
        {
        }
    }
}
