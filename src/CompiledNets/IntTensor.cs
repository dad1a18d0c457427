namespace CompiledNets;

/// <summary>
/// A dense, row-major tensor of <see cref="int"/> values, used for class labels
/// (PyTorch uses <c>torch.LongTensor</c>; 32 bits are plenty for class indices).
/// </summary>
/// <remarks>
/// Like <see cref="Tensor"/>, a tensor may be a view over a buffer that its owner reuses (a
/// <see cref="Data.DataLoader"/> batch kept from a LINQ or <c>ToList</c> enumeration): once the buffer is
/// overwritten, reading the view throws <see cref="InvalidOperationException"/>; <see cref="Clone"/> keeps a copy.
/// </remarks>
public sealed class IntTensor
{
    private readonly int[] _storage;
    private readonly int _offset;
    private readonly int[] _shape;
    private readonly BufferVersion? _owner;
    private readonly int _version;

    /// <summary>Creates a zero-filled tensor of the given shape.</summary>
    /// <exception cref="ArgumentException">A dimension is negative.</exception>
    public IntTensor(params int[] shape)
    {
        _shape = (int[])shape.Clone();
        _storage = new int[Tensor.Product(_shape, nameof(shape))];
    }

    private IntTensor(int[] storage, int offset, int[] shape, BufferVersion? owner = null)
    {
        _storage = storage;
        _offset = offset;
        _shape = shape;
        _owner = owner;
        _version = owner?.Value ?? 0;
    }

    /// <summary>Wraps <paramref name="data"/> without copying; with no shape, the tensor is one-dimensional.</summary>
    /// <exception cref="ArgumentException">The element count of <paramref name="shape"/> differs from <c>data.Length</c>.</exception>
    public static IntTensor FromArray(int[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        int[] s = shape.Length == 0 ? [data.Length] : (int[])shape.Clone();
        long count = Tensor.Product(s, nameof(shape));
        if (count != data.Length)
        {
            throw new ArgumentException(
                $"Shape {Tensor.ShapeString(s)} holds {count} elements but the array has {data.Length}.", nameof(shape));
        }
        return new IntTensor(data, 0, s);
    }

    /// <summary>Copies <paramref name="data"/> into a new one-dimensional tensor.</summary>
    public static IntTensor From(ReadOnlySpan<int> data) => FromArray(data.ToArray());

    /// <summary>Internal view constructor used by loaders; no copy. With an <paramref name="owner"/>, the view goes stale when the owner's version moves on.</summary>
    internal static IntTensor View(int[] storage, int offset, int[] shape, BufferVersion? owner = null) => new(storage, offset, shape, owner);

    internal int[] Storage => _storage;

    internal int Offset => _offset;

    /// <summary>The shape, e.g. <c>[batch]</c>.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>The number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements (PyTorch: <c>tensor.numel()</c>).</summary>
    public int Numel => (int)Tensor.Product(_shape, "shape");

    /// <summary>The size of dimension <paramref name="dim"/>; negative values count from the end.</summary>
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

    /// <summary>True while the data is still valid: always, except for a kept loader batch after the loader's next batch.</summary>
    public bool IsCurrent => _owner is null || _owner.Value == _version;

    /// <summary>The values, row-major.</summary>
    /// <exception cref="InvalidOperationException">This tensor is a view whose buffer was overwritten since (see <see cref="IsCurrent"/>).</exception>
    public Span<int> AsSpan()
    {
        ThrowIfStale();
        return _storage.AsSpan(_offset, Numel);
    }

    internal void ThrowIfStale()
    {
        if (_owner is not null && _owner.Value != _version)
        {
            throw new InvalidOperationException(_owner.StaleMessage);
        }
    }

    /// <summary>The element at <paramref name="i"/> of a one-dimensional tensor.</summary>
    public int this[int i]
    {
        get => AsSpan()[i];
        set => AsSpan()[i] = value;
    }

    /// <summary>A copy with its own storage.</summary>
    public IntTensor Clone() => FromArray(AsSpan().ToArray(), _shape);

    /// <summary>The values as a new array.</summary>
    public int[] ToArray() => AsSpan().ToArray();

    /// <summary>
    /// The tensor as PyTorch prints an <c>int64</c> tensor, e.g. <c>tensor([ 0, 12,  1])</c>: values right-aligned, lines
    /// wrapped at 80 columns, more than 1000 elements summarised around <c>...</c>. A view whose buffer was overwritten
    /// prints <c>tensor(&lt;overwritten by …&gt;, shape=[…])</c> instead.
    /// </summary>
    public override string ToString() => IsCurrent
        ? TensorFormatter.Format(_storage, _offset, _shape)
        : $"tensor(<overwritten by {_owner!.OverwrittenBy}>, shape={Tensor.ShapeString(_shape)})";
}
