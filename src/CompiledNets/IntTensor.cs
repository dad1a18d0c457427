namespace CompiledNets;

/// <summary>
/// A dense, row-major tensor of <see cref="int"/> values, used for class labels
/// (PyTorch uses <c>torch.LongTensor</c>; 32 bits are plenty for class indices).
/// </summary>
public sealed class IntTensor
{
    private readonly int[] _storage;
    private readonly int _offset;
    private readonly int[] _shape;

    /// <summary>Creates a zero-filled tensor of the given shape.</summary>
    /// <exception cref="ArgumentException">A dimension is negative.</exception>
    public IntTensor(params int[] shape)
    {
        _shape = (int[])shape.Clone();
        _storage = new int[Tensor.Product(_shape, nameof(shape))];
    }

    private IntTensor(int[] storage, int offset, int[] shape)
    {
        _storage = storage;
        _offset = offset;
        _shape = shape;
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

    internal static IntTensor View(int[] storage, int offset, int[] shape) => new(storage, offset, shape);

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

    /// <summary>The values, row-major.</summary>
    public Span<int> AsSpan() => _storage.AsSpan(_offset, Numel);

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

    /// <summary>PyTorch-like text, e.g. <c>tensor([0, 2, 1])</c>; long tensors are elided.</summary>
    public override string ToString()
    {
        ReadOnlySpan<int> data = AsSpan();
        if (data.Length <= 12)
        {
            return "tensor([" + string.Join(", ", data.ToArray()) + "])";
        }
        return "tensor([" + string.Join(", ", data[..3].ToArray()) + ", ..., " + string.Join(", ", data[^3..].ToArray()) + "])";
    }
}
