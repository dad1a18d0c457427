using System.Globalization;
using System.Numerics;
using System.Text;

namespace CompiledNets;

/// <summary>
/// PyTorch's <c>print(tensor)</c> (<c>torch/_tensor_str.py</c>, default print options: precision 4, threshold 1000,
/// edgeitems 3, linewidth 80), reproduced character for character for <see cref="Tensor"/> and <see cref="IntTensor"/>.
/// </summary>
/// <remarks>
/// <para>
/// Up to <see cref="Threshold"/> elements are shown in full; beyond, each dimension longer than 2·<see cref="EdgeItems"/>
/// shows its first and last <see cref="EdgeItems"/> entries around <c>...</c>. One format is chosen for all the shown
/// values, from the non-zero finite ones (PyTorch's <c>_Formatter</c>): all integers → <c>1.</c> style; else when the
/// largest magnitude over the smallest exceeds 1000, the largest exceeds 1e8 or the smallest is under 1e-4 → scientific
/// (<c>-1.0438e+08</c>); else fixed with 4 decimals. Values are right-aligned to the widest and wrapped at 80 columns.
/// Numbers are rounded half to even on their exact binary value, as Python's <c>format</c> does.
/// </para>
/// </remarks>
internal static class TensorFormatter
{
    /// <summary>Decimals shown (PyTorch: <c>precision</c>).</summary>
    public const int Precision = 4;

    /// <summary>More elements than this are summarised (PyTorch: <c>threshold</c>).</summary>
    public const int Threshold = 1000;

    /// <summary>Entries shown at each end of a summarised dimension (PyTorch: <c>edgeitems</c>).</summary>
    public const int EdgeItems = 3;

    /// <summary>Characters per line (PyTorch: <c>linewidth</c>).</summary>
    public const int LineWidth = 80;

    private const string Prefix = "tensor(";

    /// <summary><c>str(tensor)</c> of a float32 tensor whose values start at <paramref name="offset"/> of <paramref name="storage"/>.</summary>
    /// <remarks>Only the values shown are read, so printing a large tensor costs little.</remarks>
    public static string Format(float[] storage, int offset, ReadOnlySpan<int> shape)
    {
        long numel = Numel(shape);
        if (numel == 0)
        {
            return Empty(shape, dtype: null);
        }
        bool summarize = numel > Threshold;
        var format = new FloatFormat(Shown(shape, summarize).Select(i => (double)storage[offset + i]));
        return Layout(shape, summarize, i => format.Format(storage[offset + i]), format.Width);
    }

    /// <summary><c>str(tensor)</c> of an integer tensor (as PyTorch prints <c>int64</c> class indices).</summary>
    public static string Format(int[] storage, int offset, ReadOnlySpan<int> shape)
    {
        long numel = Numel(shape);
        if (numel == 0)
        {
            return Empty(shape, dtype: "torch.int64");
        }
        bool summarize = numel > Threshold;
        int width = 1;
        foreach (int i in Shown(shape, summarize))
        {
            width = Math.Max(width, Invariant(storage[offset + i]).Length);
        }
        return Layout(shape, summarize, i => Invariant(storage[offset + i]).PadLeft(width), width);
    }

    private static long Numel(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            n *= d;
        }
        return n;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary><c>tensor([])</c>, with PyTorch's <c>size=(…)</c> suffix unless one-dimensional and its <c>dtype=</c> for non-float tensors.</summary>
    private static string Empty(ReadOnlySpan<int> shape, string? dtype)
    {
        var sb = new StringBuilder(Prefix).Append("[]");
        if (shape.Length != 1)
        {
            sb.Append(", size=(").Append(string.Join(", ", shape.ToArray())).Append(')');
        }
        if (dtype is not null)
        {
            sb.Append(", dtype=").Append(dtype);
        }
        return sb.Append(')').ToString();
    }

    /// <summary>The flat indices of the values that are printed (PyTorch: <c>get_summarized_data</c>).</summary>
    private static List<int> Shown(ReadOnlySpan<int> shape, bool summarize)
    {
        var result = new List<int>();
        Collect(shape.ToArray(), 0, 0, summarize, result);
        return result;
    }

    private static void Collect(int[] shape, int dim, int offset, bool summarize, List<int> result)
    {
        if (dim == shape.Length)
        {
            result.Add(offset);
            return;
        }
        int stride = Stride(shape, dim);
        foreach (int i in Entries(shape[dim], summarize))
        {
            if (i >= 0)
            {
                Collect(shape, dim + 1, offset + i * stride, summarize, result);
            }
        }
    }

    /// <summary>The entries of one dimension to show; <c>-1</c> stands for the <c>...</c> between the two ends.</summary>
    private static IEnumerable<int> Entries(int size, bool summarize)
    {
        if (summarize && size > 2 * EdgeItems)
        {
            for (int i = 0; i < EdgeItems; i++)
            {
                yield return i;
            }
            yield return -1;
            for (int i = size - EdgeItems; i < size; i++)
            {
                yield return i;
            }
        }
        else
        {
            for (int i = 0; i < size; i++)
            {
                yield return i;
            }
        }
    }

    private static int Stride(int[] shape, int dim)
    {
        int stride = 1;
        for (int d = dim + 1; d < shape.Length; d++)
        {
            stride *= shape[d];
        }
        return stride;
    }

    /// <summary>PyTorch's <c>_tensor_str_with_formatter</c> under the <c>tensor(</c> prefix.</summary>
    private static string Layout(ReadOnlySpan<int> shape, bool summarize, Func<int, string> element, int width)
    {
        int[] s = shape.ToArray();
        return Prefix + Nested(s, 0, 0, Prefix.Length, summarize, element, width) + ")";
    }

    private static string Nested(int[] shape, int dim, int offset, int indent, bool summarize, Func<int, string> element, int width)
    {
        int remaining = shape.Length - dim;
        if (remaining == 0)
        {
            return element(offset);
        }
        int stride = Stride(shape, dim);
        if (remaining == 1)
        {
            // _vector_str: as many elements per line as fit in the line width after the indent.
            int perLine = Math.Max(1, (LineWidth - indent) / (width + 2));
            var items = Entries(shape[dim], summarize).Select(i => i < 0 ? " ..." : element(offset + i)).ToList();
            var lines = new List<string>();
            for (int i = 0; i < items.Count; i += perLine)
            {
                lines.Add(string.Join(", ", items.Skip(i).Take(perLine)));
            }
            return "[" + string.Join(",\n" + new string(' ', indent + 1), lines) + "]";
        }
        var slices = Entries(shape[dim], summarize)
            .Select(i => i < 0 ? "..." : Nested(shape, dim + 1, offset + i * stride, indent + 1, summarize, element, width));
        return "[" + string.Join("," + new string('\n', remaining - 1) + new string(' ', indent + 1), slices) + "]";
    }

    /// <summary>PyTorch's <c>_Formatter</c> for floating-point tensors: one mode and width for all shown values.</summary>
    private sealed class FloatFormat
    {
        private readonly bool _intMode = true;
        private readonly bool _sciMode;

        public FloatFormat(IEnumerable<double> shown)
        {
            var nonZeroFinite = shown.Where(v => double.IsFinite(v) && v != 0).ToList();
            Width = 1;
            if (nonZeroFinite.Count == 0)
            {
                return;
            }
            double min = nonZeroFinite.Min(Math.Abs), max = nonZeroFinite.Max(Math.Abs);
            _intMode = nonZeroFinite.All(v => v == Math.Ceiling(v));
            if (_intMode)
            {
                _sciMode = max / min > 1000.0 || max > 1e8;
                Width = nonZeroFinite.Max(v => _sciMode ? Scientific(v).Length : Fixed(v, 0).Length + 1);
            }
            else
            {
                _sciMode = max / min > 1000.0 || max > 1e8 || min < 1e-4;
                Width = nonZeroFinite.Max(v => (_sciMode ? Scientific(v) : Fixed(v, Precision)).Length);
            }
        }

        /// <summary>The width every value is padded to.</summary>
        public int Width { get; }

        public string Format(double v)
        {
            string text = _sciMode ? Scientific(v)
                : _intMode ? Fixed(v, 0) + (double.IsFinite(v) ? "." : "")
                : Fixed(v, Precision);
            return text.PadLeft(Width);
        }
    }

    /// <summary>Python's <c>'{:.Nf}'.format(v)</c>: exact, rounded half to even; <c>nan</c>, <c>inf</c>, <c>-inf</c>; keeps the sign of −0.</summary>
    internal static string Fixed(double v, int decimals)
    {
        if (!double.IsFinite(v))
        {
            return NonFinite(v);
        }
        string digits = RoundHalfEven(Math.Abs(v), decimals).ToString(CultureInfo.InvariantCulture);
        if (decimals > 0)
        {
            digits = digits.PadLeft(decimals + 1, '0');
            digits = digits[..^decimals] + "." + digits[^decimals..];
        }
        return (double.IsNegative(v) ? "-" : "") + digits;
    }

    /// <summary>Python's <c>'{:.4e}'.format(v)</c>: <c>-1.0438e+08</c>, exact and rounded half to even.</summary>
    internal static string Scientific(double v)
    {
        if (!double.IsFinite(v))
        {
            return NonFinite(v);
        }
        double a = Math.Abs(v);
        int exponent = 0;
        BigInteger mantissa = BigInteger.Zero;
        if (a != 0)
        {
            exponent = (int)Math.Floor(Math.Log10(a));
            var low = BigInteger.Pow(10, Precision);
            var high = low * 10;
            for (int guard = 0; guard < 4; guard++)
            {
                mantissa = RoundHalfEven(a, Precision - exponent);
                if (mantissa >= high)
                {
                    exponent++;
                }
                else if (mantissa < low)
                {
                    exponent--;
                }
                else
                {
                    break;
                }
            }
        }
        string digits = mantissa.ToString(CultureInfo.InvariantCulture).PadLeft(Precision + 1, '0');
        return (double.IsNegative(v) ? "-" : "") + digits[..1] + "." + digits[1..] + "e" + (exponent < 0 ? "-" : "+")
               + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
    }

    private static string NonFinite(double v) => double.IsNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";

    /// <summary><c>round(a · 10^p)</c> for a finite <paramref name="a"/> ≥ 0, computed exactly, ties to even.</summary>
    private static BigInteger RoundHalfEven(double a, int p)
    {
        long bits = BitConverter.DoubleToInt64Bits(a);
        int exp = (int)((bits >> 52) & 0x7FF);
        long man = bits & 0xF_FFFF_FFFF_FFFFL;
        if (exp == 0)
        {
            exp = 1;
        }
        else
        {
            man |= 1L << 52;
        }
        exp -= 1075; // a = man · 2^exp
        BigInteger num = man, den = BigInteger.One;
        if (p >= 0)
        {
            num *= BigInteger.Pow(10, p);
        }
        else
        {
            den *= BigInteger.Pow(10, -p);
        }
        if (exp >= 0)
        {
            num <<= exp;
        }
        else
        {
            den <<= -exp;
        }
        var q = BigInteger.DivRem(num, den, out var r);
        int cmp = (r * 2).CompareTo(den);
        return cmp > 0 || (cmp == 0 && !q.IsEven) ? q + 1 : q;
    }
}
