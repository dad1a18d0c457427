namespace CompiledNets;

/// <summary>
/// A dense, row-major tensor of <see cref="float"/> values (PyTorch's <c>torch.FloatTensor</c>).
/// </summary>
/// <remarks>
/// A tensor has no autograd of its own: gradients are computed by the backward pass the generator
/// emits for each <c>[Model]</c>. A tensor returned by a model's <c>Forward</c> is a view over a
/// buffer that the model reuses; it stays readable until the model's next <c>Forward</c>, after
/// which reading it throws <see cref="InvalidOperationException"/> (call <see cref="Clone"/> to keep it). Once a
/// loss has backpropagated through such an output, the model's next <c>Forward</c> returns the same tensor object,
/// re-stamped, instead of a new one: a training step allocates nothing.
/// </remarks>
public sealed partial class Tensor
{
    private readonly float[] _storage;
    private readonly int _offset;
    private readonly int[] _shape;
    private readonly BufferVersion? _owner;
    private int _version;

    /// <summary>Creates a zero-filled tensor of the given shape (PyTorch: <c>torch.zeros(shape)</c>).</summary>
    /// <param name="shape">The size of each dimension; each must be ≥ 0.</param>
    /// <exception cref="ArgumentException">A dimension is negative or the element count overflows.</exception>
    public Tensor(params int[] shape)
    {
        _shape = (int[])shape.Clone();
        _storage = new float[Product(_shape, nameof(shape))];
    }

    private Tensor(float[] storage, int offset, int[] shape, BufferVersion? owner, int version, Module? producer)
    {
        _storage = storage;
        _offset = offset;
        _shape = shape;
        _owner = owner;
        _version = version;
        Producer = producer;
    }

    /// <summary>
    /// Wraps <paramref name="data"/> without copying (PyTorch: <c>torch.from_numpy</c>): writes to the array
    /// show through the tensor and the other way round.
    /// </summary>
    /// <param name="data">Row-major values; its length must equal the product of <paramref name="shape"/>.</param>
    /// <param name="shape">The shape; when empty, the tensor is one-dimensional of length <c>data.Length</c>.</param>
    /// <exception cref="ArgumentException">The element count of <paramref name="shape"/> differs from <c>data.Length</c>.</exception>
    public static Tensor FromArray(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        int[] s = shape.Length == 0 ? [data.Length] : (int[])shape.Clone();
        long count = Product(s, nameof(shape));
        if (count != data.Length)
        {
            throw new ArgumentException(
                $"Shape [{string.Join(", ", s)}] holds {count} elements but the array has {data.Length}.", nameof(shape));
        }
        return new Tensor(data, 0, s, null, 0, null);
    }

    /// <summary>Copies a two-dimensional array into a new tensor of shape <c>[rows, columns]</c>.</summary>
    public static Tensor From(float[,] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        int rows = data.GetLength(0), cols = data.GetLength(1);
        var t = new Tensor(rows, cols);
        var span = t.AsSpan();
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                span[r * cols + c] = data[r, c];
            }
        }
        return t;
    }

    /// <summary>Copies <paramref name="data"/> into a new tensor of the given shape.</summary>
    /// <exception cref="ArgumentException">The element count of <paramref name="shape"/> differs from <c>data.Length</c>.</exception>
    public static Tensor From(ReadOnlySpan<float> data, params int[] shape) => FromArray(data.ToArray(), shape);

    /// <summary>Internal view constructor used by models, loaders and the serializer; no copy.</summary>
    internal static Tensor View(float[] storage, int offset, int[] shape, BufferVersion? owner = null, Module? producer = null)
        => new(storage, offset, shape, owner, owner?.Value ?? 0, producer);

    /// <summary>Stamps a recycled model-output view with its owner's new version (see <c>Module.EndForward</c>).</summary>
    internal void Restamp(int version) => _version = version;

    /// <summary>The model whose <c>Forward</c> produced this tensor, or <see langword="null"/>.</summary>
    internal Module? Producer { get; }

    internal float[] Storage => _storage;

    internal int[] ShapeArray => _shape;

    internal int Offset => _offset;

    /// <summary>The shape, e.g. <c>[batch, features]</c> (PyTorch: <c>tensor.shape</c>).</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>The number of dimensions (PyTorch: <c>tensor.dim()</c>).</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements (PyTorch: <c>tensor.numel()</c>).</summary>
    public int Numel
    {
        get
        {
            // The shape was checked when the tensor was made (non-negative, fits an array): a plain product. Not cached
            // in a field, so that a model's output view stays a 64-byte object.
            int n = 1;
            foreach (int d in _shape)
            {
                n *= d;
            }
            return n;
        }
    }

    /// <summary>The size of dimension <paramref name="dim"/>; negative values count from the end (PyTorch: <c>tensor.size(dim)</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dim"/> is not a dimension of this tensor.</exception>
    public int Size(int dim)
    {
        int d = dim < 0 ? dim + _shape.Length : dim;
        if ((uint)d >= (uint)_shape.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(dim), dim, $"The tensor has {_shape.Length} dimensions.");
        }
        return _shape[d];
    }

    /// <summary>
    /// True while the data is still valid: always, except for a model output after the model's next <c>Forward</c>,
    /// and a <see cref="Data.DataLoader"/> batch kept from a LINQ/<c>ToList</c> enumeration after the next batch.
    /// </summary>
    public bool IsCurrent => _owner is null || _owner.Value == _version;

    /// <summary>The values, row-major.</summary>
    /// <exception cref="InvalidOperationException">This tensor is a model output that a later <c>Forward</c> overwrote, or a kept loader batch that a later batch overwrote.</exception>
    public Span<float> AsSpan()
    {
        ThrowIfStale();
        return _storage.AsSpan(_offset, Numel);
    }

    internal ArraySegment<float> Segment
    {
        get
        {
            ThrowIfStale();
            return new ArraySegment<float>(_storage, _offset, Numel);
        }
    }

    internal void ThrowIfStale()
    {
        if (_owner is not null && _owner.Value != _version)
        {
            ThrowStale();
        }
        PullFromDevice(); // Tensor.Devices.cs: a device model's output is copied to the host on its first host read
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowStale() => throw new InvalidOperationException(_owner!.StaleMessage);

    /// <summary>The element at row <paramref name="i"/>, column <paramref name="j"/> of a two-dimensional tensor.</summary>
    [System.Runtime.CompilerServices.IndexerName("Element")]
    public float this[int i, int j]
    {
        get => AsSpan()[FlatIndex(i, j)];
        set => AsSpan()[FlatIndex(i, j)] = value;
    }

    /// <summary>The element at <paramref name="i"/> of a one-dimensional tensor.</summary>
    [System.Runtime.CompilerServices.IndexerName("Element")]
    public float this[int i]
    {
        get => AsSpan()[FlatIndex(i)];
        set => AsSpan()[FlatIndex(i)] = value;
    }

    private int FlatIndex(int i)
    {
        if (_shape.Length != 1 || (uint)i >= (uint)_shape[0])
        {
            throw new IndexOutOfRangeException($"Index [{i}] is outside a tensor of shape {ShapeString(_shape)}.");
        }
        return i;
    }

    private int FlatIndex(int i, int j)
    {
        if (_shape.Length != 2 || (uint)i >= (uint)_shape[0] || (uint)j >= (uint)_shape[1])
        {
            throw new IndexOutOfRangeException($"Index [{i}, {j}] is outside a tensor of shape {ShapeString(_shape)}.");
        }
        return i * _shape[1] + j;
    }

    /// <summary>The value of a one-element tensor (PyTorch: <c>tensor.item()</c>).</summary>
    /// <exception cref="InvalidOperationException">The tensor does not hold exactly one element.</exception>
    public float Item()
    {
        if (Numel != 1)
        {
            throw new InvalidOperationException($"Item() needs a tensor with one element; this one has shape {ShapeString(_shape)}.");
        }
        return AsSpan()[0];
    }

    /// <summary>A copy with its own storage (PyTorch: <c>tensor.clone()</c>).</summary>
    public Tensor Clone() => FromArray(AsSpan().ToArray(), _shape);

    /// <summary>The values as a new array, row-major.</summary>
    public float[] ToArray() => AsSpan().ToArray();

    /// <summary>A view with another shape over the same values (PyTorch: <c>tensor.view(shape)</c>); one dimension may be -1.</summary>
    /// <exception cref="ArgumentException">The shape does not hold the same number of elements.</exception>
    public Tensor Reshape(params int[] shape)
    {
        ThrowIfStale();
        int[] s = (int[])shape.Clone();
        int infer = Array.IndexOf(s, -1);
        if (infer >= 0)
        {
            long rest = 1;
            for (int i = 0; i < s.Length; i++)
            {
                if (i != infer)
                {
                    rest *= s[i];
                }
            }
            if (rest > 0)
            {
                s[infer] = (int)(Numel / rest);
            }
        }
        if (Product(s, nameof(shape)) != Numel)
        {
            throw new ArgumentException($"Cannot view a tensor of shape {ShapeString(_shape)} as {ShapeString(shape)}.", nameof(shape));
        }
        return new Tensor(_storage, _offset, s, _owner, _version, Producer);
    }

    /// <summary>The index of the largest value in each row of a <c>[batch, classes]</c> tensor (PyTorch: <c>tensor.argmax(dim=1)</c>).</summary>
    /// <exception cref="InvalidOperationException">The tensor is not two-dimensional.</exception>
    public IntTensor ArgMax()
    {
        if (_shape.Length != 2)
        {
            throw new InvalidOperationException($"ArgMax() needs a [batch, classes] tensor; this one has shape {ShapeString(_shape)}.");
        }
        int rows = _shape[0], cols = _shape[1];
        var result = new int[rows];
        ReadOnlySpan<float> data = AsSpan();
        for (int r = 0; r < rows; r++)
        {
            result[r] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(data.Slice(r * cols, cols));
        }
        return IntTensor.FromArray(result);
    }

    /// <summary>
    /// The tensor as PyTorch's <c>print(tensor)</c> writes it, e.g. <c>tensor([[ 0.1000, -2.5000]])</c>: 4 decimals,
    /// values right-aligned, scientific notation when the magnitudes call for it (<c>-1.0438e+08</c>), lines wrapped at
    /// 80 columns, and more than 1000 elements summarised as the first and last 3 entries of each dimension around
    /// <c>...</c> (PyTorch's default print options). A view whose buffer was overwritten prints
    /// <c>tensor(&lt;overwritten by …&gt;, shape=[…])</c> instead.
    /// </summary>
    public override string ToString()
    {
        if (!IsCurrent)
        {
            return $"tensor(<overwritten by {_owner!.OverwrittenBy}>, shape={ShapeString(_shape)})";
        }
        PullFromDevice();
        return TensorFormatter.Format(_storage, _offset, _shape);
    }

    internal static string ShapeString(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    internal static long Product(ReadOnlySpan<int> shape, string paramName)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Shape {ShapeString(shape)} has a negative dimension.", paramName);
            }
            n *= d;
            if (n > Array.MaxLength)
            {
                throw new ArgumentException($"Shape {ShapeString(shape)} holds more elements than an array can.", paramName);
            }
        }
        return n;
    }
}

/// <summary>
/// A version stamp shared by a reusable buffer and the tensor views over it: the owner increments
/// <see cref="Value"/> when it overwrites the buffer, and a view made at another version throws when read.
/// </summary>
/// <param name="staleMessage">The exception message for reading a view after the buffer was overwritten.</param>
/// <param name="overwrittenBy">What overwrote it, for <c>ToString</c>: <c>tensor(&lt;overwritten by …&gt;)</c>.</param>
internal sealed class BufferVersion(string staleMessage, string overwrittenBy)
{
    /// <summary>The stamp of a model's output buffer, which the model's next <c>Forward</c> overwrites.</summary>
    public static BufferVersion ForModelOutput() => new(
        "This tensor is the output of an earlier Forward call and the model has since overwritten its buffer. " +
        "Call Clone() on a model's output to keep it past the next Forward.",
        "a later Forward");

    /// <summary>The current version; views made at another version are stale.</summary>
    public int Value;

    /// <summary>The exception message for reading a stale view.</summary>
    public string StaleMessage { get; } = staleMessage;

    /// <summary>What overwrote the buffer, e.g. <c>a later Forward</c>.</summary>
    public string OverwrittenBy { get; } = overwrittenBy;
}
