using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CompiledNets.Kernels.Cpu;

/// <summary>
/// The products of narrow layers (widths such as 4, 10, 3 or 64, 128): <c>C[i, j] (=|+=) Σₚ A(i, p)·B(p, j)
/// (+ bias[j])</c>, then <c>max(·, 0)</c>, vectorised along the output row: each step broadcasts one value of
/// <c>A</c> and multiplies it into a whole row of <c>B</c>, so a 4- or 10-wide layer uses full vectors instead of
/// 4- or 10-long dot products with a horizontal sum each.
/// </summary>
/// <remarks>
/// <para><c>B</c> is first copied (transposed where needed) into a row-major <c>[k, nPadded]</c> buffer of this thread,
/// <c>nPadded</c> a multiple of 8 with zeros after column <c>n</c>, so every load of <c>B</c> is a full Vector256.
/// The register tile is 4 rows × 16 columns (8 accumulators); a tile's last columns are stored with a masked
/// store, so nothing outside <c>C</c> is touched. <c>A</c> is read in place through its strides.</para>
/// <para>Used by <see cref="LinearKernels"/> when the layer is below the GEMM's threshold and <c>k·nPadded</c> fits in
/// <see cref="MaxPacked"/> floats; every output value is one float32 sum in depth order (bias first), so results
/// do not depend on the tile an element falls in.</para>
/// </remarks>
internal static unsafe class SmallGemm
{
    /// <summary>The largest padded <c>B</c> (floats) the buffer holds: 64 K floats, 256 KiB.</summary>
    public const int MaxPacked = 64 * 1024;

    /// <summary>Whether the vectorised kernel runs here (Vector256 and AVX masked stores).</summary>
    public static bool IsSupported => Avx.IsSupported && Fma.IsSupported;

    [ThreadStatic] private static float[]? s_buffer;
    [ThreadStatic] private static int s_offset;

    /// <summary>Columns rounded up to whole Vector256s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Padded(int n) => (n + 7) & ~7;

    /// <summary>Whether a <c>[k, n]</c> B fits in the buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Fits(int k, int n) => IsSupported && (long)k * Padded(n) + Padded(n) <= MaxPacked;

    /// <summary><c>y = x·wᵀ (+ b) (then ReLU)</c>: <c>x [m, k]</c>, <c>w [n, k]</c>, <c>y [m, n]</c> overwritten.</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y,
        int batch, int inFeatures, int outFeatures, bool relu)
    {
        int np = Padded(outFeatures);
        float* buf = Buffer();
        float* biasPad = null;
        fixed (float* xp = x, wp = w, bp = b, yp = y)
        {
            // B(p, j) = w[j, p]: transpose the weight into [in, outPadded].
            for (int p = 0; p < inFeatures; p++)
            {
                float* d = buf + (long)p * np;
                float* s = wp + p;
                int j = 0;
                for (; j < outFeatures; j++)
                {
                    d[j] = s[(long)j * inFeatures];
                }
                for (; j < np; j++)
                {
                    d[j] = 0f;
                }
            }
            if (b.Length != 0)
            {
                biasPad = buf + (long)inFeatures * np;
                int j = 0;
                for (; j < outFeatures; j++)
                {
                    biasPad[j] = bp[j];
                }
                for (; j < np; j++)
                {
                    biasPad[j] = 0f;
                }
            }
            Multiply(xp, inFeatures, 1, buf, np, yp, batch, outFeatures, inFeatures, accumulate: false, biasPad, relu);
        }
    }

    /// <summary><c>dx = dy·w</c>: <c>dy [m, out]</c>, <c>w [out, in]</c>, <c>dx [m, in]</c> overwritten.</summary>
    public static void BackwardInput(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx,
        int batch, int inFeatures, int outFeatures)
    {
        int np = Padded(inFeatures);
        float* buf = Buffer();
        fixed (float* dyp = dy, wp = w, dxp = dx)
        {
            CopyPadded(wp, outFeatures, inFeatures, buf, np);
            Multiply(dyp, outFeatures, 1, buf, np, dxp, batch, inFeatures, outFeatures, accumulate: false, null, relu: false);
        }
    }

    /// <summary><c>dw += dyᵀ·x</c>: <c>dy [batch, out]</c>, <c>x [batch, in]</c>, <c>dw [out, in]</c> added to.</summary>
    public static void BackwardWeight(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw,
        int batch, int inFeatures, int outFeatures)
    {
        int np = Padded(inFeatures);
        float* buf = Buffer();
        fixed (float* dyp = dy, xp = x, dwp = dw)
        {
            CopyPadded(xp, batch, inFeatures, buf, np);
            Multiply(dyp, 1, outFeatures, buf, np, dwp, outFeatures, inFeatures, batch, accumulate: true, null, relu: false);
        }
    }

    /// <summary>Copies row-major <c>[rows, cols]</c> into <c>[rows, np]</c> with zeros after column <c>cols</c>.</summary>
    private static void CopyPadded(float* src, int rows, int cols, float* dst, int np)
    {
        for (int r = 0; r < rows; r++)
        {
            float* s = src + (long)r * cols;
            float* d = dst + (long)r * np;
            int j = 0;
            for (; j + 8 <= cols; j += 8)
            {
                Vector256.Store(Vector256.Load(s + j), d + j);
            }
            for (; j < cols; j++)
            {
                d[j] = s[j];
            }
            for (; j < np; j++)
            {
                d[j] = 0f;
            }
        }
    }

    /// <summary>
    /// <c>C[i, j] (=|+=) (bias[j] +) Σₚ A(i, p)·B[p, j]</c> (then ReLU): <c>A(i, p) = a[i·rsA + p·csA]</c>,
    /// <c>B</c> row-major <c>[k, np]</c> zero-padded, <c>bias</c> padded to <c>np</c> or null, <c>C</c> row-major <c>[m, n]</c>.
    /// </summary>
    public static void Multiply(float* a, int rsA, int csA, float* b, int np, float* c, int m, int n, int k,
        bool accumulate, float* bias, bool relu)
    {
        for (int i = 0; i < m; i += 4)
        {
            int mb = Math.Min(4, m - i);
            float* a0 = a + (long)i * rsA;
            float* a1 = mb > 1 ? a0 + rsA : a0;
            float* a2 = mb > 2 ? a0 + 2L * rsA : a0;
            float* a3 = mb > 3 ? a0 + 3L * rsA : a0;
            float* ci = c + (long)i * n;
            int j = 0;
            for (; j + 16 <= np; j += 16)
            {
                Tile4x16(a0, a1, a2, a3, csA, b + j, np, k, bias != null ? bias + j : null, out var c00, out var c01,
                    out var c10, out var c11, out var c20, out var c21, out var c30, out var c31);
                int nb = Math.Min(16, n - j);
                Store(ci + j, c00, c01, nb, accumulate, relu);
                if (mb > 1) Store(ci + n + j, c10, c11, nb, accumulate, relu);
                if (mb > 2) Store(ci + 2L * n + j, c20, c21, nb, accumulate, relu);
                if (mb > 3) Store(ci + 3L * n + j, c30, c31, nb, accumulate, relu);
            }
            if (j < np)
            {
                Tile4x8(a0, a1, a2, a3, csA, b + j, np, k, bias != null ? bias + j : null,
                    out var c0, out var c1, out var c2, out var c3);
                int nb = n - j;
                Store(ci + j, c0, nb, accumulate, relu);
                if (mb > 1) Store(ci + n + j, c1, nb, accumulate, relu);
                if (mb > 2) Store(ci + 2L * n + j, c2, nb, accumulate, relu);
                if (mb > 3) Store(ci + 3L * n + j, c3, nb, accumulate, relu);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4x16(float* a0, float* a1, float* a2, float* a3, int csA, float* b, int np, int k, float* bias,
        out Vector256<float> c00, out Vector256<float> c01, out Vector256<float> c10, out Vector256<float> c11,
        out Vector256<float> c20, out Vector256<float> c21, out Vector256<float> c30, out Vector256<float> c31)
    {
        c00 = bias != null ? Vector256.Load(bias) : Vector256<float>.Zero;
        c01 = bias != null ? Vector256.Load(bias + 8) : Vector256<float>.Zero;
        c10 = c00; c11 = c01; c20 = c00; c21 = c01; c30 = c00; c31 = c01;
        long off = 0;
        for (int p = 0; p < k; p++, off += csA, b += np)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a0[off]);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a1[off]);
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a2[off]);
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a3[off]);
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4x8(float* a0, float* a1, float* a2, float* a3, int csA, float* b, int np, int k, float* bias,
        out Vector256<float> c0, out Vector256<float> c1, out Vector256<float> c2, out Vector256<float> c3)
    {
        c0 = bias != null ? Vector256.Load(bias) : Vector256<float>.Zero;
        c1 = c0; c2 = c0; c3 = c0;
        long off = 0;
        for (int p = 0; p < k; p++, off += csA, b += np)
        {
            var b0 = Vector256.Load(b);
            c0 = Vector256.FusedMultiplyAdd(Vector256.Create(a0[off]), b0, c0);
            c1 = Vector256.FusedMultiplyAdd(Vector256.Create(a1[off]), b0, c1);
            c2 = Vector256.FusedMultiplyAdd(Vector256.Create(a2[off]), b0, c2);
            c3 = Vector256.FusedMultiplyAdd(Vector256.Create(a3[off]), b0, c3);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> v0, Vector256<float> v1, int nb, bool accumulate, bool relu)
    {
        if (nb >= 16)
        {
            Store(c, v0, 8, accumulate, relu);
            Store(c + 8, v1, 8, accumulate, relu);
        }
        else if (nb > 8)
        {
            Store(c, v0, 8, accumulate, relu);
            Store(c + 8, v1, nb - 8, accumulate, relu);
        }
        else
        {
            Store(c, v0, nb, accumulate, relu);
        }
    }

    /// <summary>Stores the first <paramref name="nb"/> (1…8) lanes of <paramref name="v"/> (added to C when accumulating), masked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> v, int nb, bool accumulate, bool relu)
    {
        if (nb >= 8)
        {
            if (accumulate)
            {
                v += Vector256.Load(c);
            }
            if (relu)
            {
                v = Vector256.Max(v, Vector256<float>.Zero);
            }
            Vector256.Store(v, c);
            return;
        }
        var mask = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(nb)).AsSingle();
        if (accumulate)
        {
            v += Avx.MaskLoad(c, mask);
        }
        if (relu)
        {
            v = Vector256.Max(v, Vector256<float>.Zero);
        }
        Avx.MaskStore(c, mask, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* Buffer()
    {
        float[]? buffer = s_buffer ?? Allocate();
        // Pinned (never moves): taking the address without fixed is safe.
        return (float*)Unsafe.AsPointer(ref buffer[s_offset]);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float[] Allocate()
    {
        var buffer = GC.AllocateUninitializedArray<float>(MaxPacked + 16, pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref buffer[0]);
        s_offset = (int)((64 - (address & 63)) & 63) / sizeof(float);
        s_buffer = buffer;
        return buffer;
    }
}
