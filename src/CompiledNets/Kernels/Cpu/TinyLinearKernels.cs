using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CompiledNets.Kernels.Cpu;

/// <summary>
/// A size known when the JIT compiles a method: a generated model declares one <c>struct</c> per layer width
/// (<c>private struct __W10 : ISize { public static int Value => 10; }</c>) and calls the generic kernels of
/// <see cref="TinyLinearKernels"/> with them, so that every loop bound in the kernel is a constant.
/// </summary>
public interface ISize
{
    /// <summary>The size (≥ 1).</summary>
    static abstract int Value { get; }
}

/// <summary>
/// <c>nn.Linear</c> for narrow layers (both widths ≤ <see cref="MaxWidth"/>, e.g. the Iris net's 4 → 10 → 3) with the
/// widths as type arguments (<see cref="ISize"/>): <c>y = x·Wᵀ + b</c> (PyTorch: <c>torch.nn.functional.linear</c>),
/// its weight and bias gradients in one pass over the batch, and its input gradient. Weight layout is PyTorch's,
/// <c>[out_features, in_features]</c>; all spans are row-major.
/// </summary>
/// <remarks>
/// <para>The JIT compiles one copy per pair of widths, with the widths as constants: no packing, no per-call size
/// dispatch. Each row is one Vector512 (16 lanes; two for widths 17–32) along the output (forward, weight gradient) or
/// input (input gradient) features, with the other width as a short constant loop of broadcast multiply-adds; rows are
/// stored with full-vector stores that the next row overwrites, the last rows with AVX-512 masked loads and stores. One or
/// two rows through the forward (inference on single samples) take plain scalar multiply-adds with constant bounds.</para>
/// <para>Without Vector512 hardware (<see cref="IsAccelerated"/> false) each kernel runs the general
/// <see cref="LinearKernels"/> path, so the result never depends on the machine beyond float rounding.</para>
/// <para>Summation order differs from <see cref="LinearKernels"/> (float rounding only): the forward adds the
/// products in input-feature order after the bias, like <c>LinearKernels.ForwardTiny</c>.</para>
/// </remarks>
[SkipLocalsInit] // the stack buffers are written before they are read; only the parts used are
public static class TinyLinearKernels
{
    /// <summary>
    /// The widest layer side these kernels take (32: two Vector512 per row). Generated models use them when both
    /// widths of a Linear are at most this.
    /// </summary>
    public const int MaxWidth = 32;

    private const int L = 16; // Vector512<float>.Count

    /// <summary>Whether the vector path runs on this machine (AVX-512); else the kernels call <see cref="LinearKernels"/>.</summary>
    public static bool IsAccelerated => Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    /// <summary>
    /// <c>y[r, o] = b[o] + Σₖ x[r, k]·w[o, k]</c>, then <c>max(y, 0)</c> when <paramref name="relu"/>; widths
    /// <typeparamref name="TIn"/> → <typeparamref name="TOut"/>.
    /// </summary>
    /// <typeparam name="TIn">In features (1 … <see cref="MaxWidth"/>).</typeparam>
    /// <typeparam name="TOut">Out features (1 … <see cref="MaxWidth"/>).</typeparam>
    /// <param name="x">Input, <c>[batch, in]</c>.</param>
    /// <param name="w">Weight, <c>[out, in]</c>.</param>
    /// <param name="b">Bias, <c>[out]</c>, or empty for none.</param>
    /// <param name="y">Output, <c>[batch, out]</c>; overwritten (must not overlap <paramref name="x"/>).</param>
    /// <param name="batch">Rows (≥ 0).</param>
    /// <param name="relu">Apply ReLU in the same pass.</param>
    /// <exception cref="ArgumentException">A span has another length, or a width is outside 1 … <see cref="MaxWidth"/>.</exception>
    public static void Forward<TIn, TOut>(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, int batch, bool relu = false)
        where TIn : struct, ISize
        where TOut : struct, ISize
    {
        int nIn = TIn.Value, nOut = TOut.Value;
        CheckWidths(nIn, nOut);
        CheckLengths(x.Length, (long)batch * nIn, w.Length, (long)nOut * nIn, y.Length, (long)batch * nOut);
        if (b.Length != 0 && b.Length != nOut)
        {
            ThrowBiasLength("Bias", b.Length, nOut, nameof(b));
        }
        if (!IsAccelerated)
        {
            LinearKernels.Forward(x, w, b, y, batch, nIn, nOut, relu);
            return;
        }
        if (batch <= 2)
        {
            ForwardScalar<TIn, TOut>(x, w, b, y, batch, relu);
        }
        else if (nOut <= L)
        {
            ForwardOne(x, w, b, y, batch, nIn, nOut, relu);
        }
        else
        {
            ForwardTwo(x, w, b, y, batch, nIn, nOut, relu);
        }
    }

    // Wᵀ as one vector (or two) per input feature: wt[k][o] = w[o, k], zero past nOut. Only the used part is written.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ReadOnlySpan<float> w, Span<float> wt, int nIn, int nOut, int stride)
    {
        for (int k = 0; k < nIn; k++)
        {
            wt.Slice(k * stride + nOut, stride - nOut).Clear();
        }
        for (int o = 0; o < nOut; o++)
        {
            for (int k = 0; k < nIn; k++)
            {
                wt[k * stride + o] = w[o * nIn + k];
            }
        }
    }

    // One or two rows: plain multiply-adds in input-feature order after the bias (the order of the vector paths, so a
    // row gives the same bits alone or in a batch); the input-feature loop fully unrolled by DotInOrder, no staging.
    // Not inlined: DotInOrder's IL (before the JIT drops the steps past the width) would use up the inlining budget of
    // the generated Forward, which then calls small helpers instead of inlining them.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ForwardScalar<TIn, TOut>(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, int batch, bool relu)
        where TIn : struct, ISize
        where TOut : struct, ISize
    {
        int nIn = TIn.Value, nOut = TOut.Value;
        ref float xp = ref MemoryMarshal.GetReference(x);
        ref float wp = ref MemoryMarshal.GetReference(w);
        ref float bp = ref MemoryMarshal.GetReference(b);
        ref float yp = ref MemoryMarshal.GetReference(y);
        bool hasBias = b.Length != 0;
        for (int r = 0; r < batch; r++)
        {
            ref float xr = ref Unsafe.Add(ref xp, r * nIn);
            ref float yr = ref Unsafe.Add(ref yp, r * nOut);
            for (int o = 0; o < nOut; o++)
            {
                float s = DotInOrder<TIn>(ref xr, ref Unsafe.Add(ref wp, o * nIn), hasBias ? Unsafe.Add(ref bp, o) : 0f);
                Unsafe.Add(ref yr, o) = relu ? MathF.Max(s, 0f) : s;
            }
        }
    }

    /// <summary>
    /// <c>s + x[0]·w[0] + … + x[n-1]·w[n-1]</c> as a chain of fused multiply-adds in index order, <c>n</c> =
    /// <typeparamref name="TN"/> (≤ <see cref="MaxWidth"/>): the JIT drops the steps past <c>n</c> (a constant), leaving
    /// straight-line code with no loop counter.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float DotInOrder<TN>(ref float x, ref float w, float s)
        where TN : struct, ISize
    {
        int n = TN.Value;
        if (n > 0)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 0), Unsafe.Add(ref w, 0), s);
        }
        if (n > 1)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 1), Unsafe.Add(ref w, 1), s);
        }
        if (n > 2)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 2), Unsafe.Add(ref w, 2), s);
        }
        if (n > 3)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 3), Unsafe.Add(ref w, 3), s);
        }
        if (n > 4)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 4), Unsafe.Add(ref w, 4), s);
        }
        if (n > 5)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 5), Unsafe.Add(ref w, 5), s);
        }
        if (n > 6)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 6), Unsafe.Add(ref w, 6), s);
        }
        if (n > 7)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 7), Unsafe.Add(ref w, 7), s);
        }
        if (n > 8)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 8), Unsafe.Add(ref w, 8), s);
        }
        if (n > 9)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 9), Unsafe.Add(ref w, 9), s);
        }
        if (n > 10)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 10), Unsafe.Add(ref w, 10), s);
        }
        if (n > 11)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 11), Unsafe.Add(ref w, 11), s);
        }
        if (n > 12)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 12), Unsafe.Add(ref w, 12), s);
        }
        if (n > 13)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 13), Unsafe.Add(ref w, 13), s);
        }
        if (n > 14)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 14), Unsafe.Add(ref w, 14), s);
        }
        if (n > 15)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 15), Unsafe.Add(ref w, 15), s);
        }
        if (n > 16)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 16), Unsafe.Add(ref w, 16), s);
        }
        if (n > 17)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 17), Unsafe.Add(ref w, 17), s);
        }
        if (n > 18)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 18), Unsafe.Add(ref w, 18), s);
        }
        if (n > 19)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 19), Unsafe.Add(ref w, 19), s);
        }
        if (n > 20)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 20), Unsafe.Add(ref w, 20), s);
        }
        if (n > 21)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 21), Unsafe.Add(ref w, 21), s);
        }
        if (n > 22)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 22), Unsafe.Add(ref w, 22), s);
        }
        if (n > 23)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 23), Unsafe.Add(ref w, 23), s);
        }
        if (n > 24)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 24), Unsafe.Add(ref w, 24), s);
        }
        if (n > 25)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 25), Unsafe.Add(ref w, 25), s);
        }
        if (n > 26)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 26), Unsafe.Add(ref w, 26), s);
        }
        if (n > 27)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 27), Unsafe.Add(ref w, 27), s);
        }
        if (n > 28)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 28), Unsafe.Add(ref w, 28), s);
        }
        if (n > 29)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 29), Unsafe.Add(ref w, 29), s);
        }
        if (n > 30)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 30), Unsafe.Add(ref w, 30), s);
        }
        if (n > 31)
        {
            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, 31), Unsafe.Add(ref w, 31), s);
        }
        return s;
    }

    private static void ForwardOne(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, int batch, int nIn, int nOut, bool relu)
    {
        Span<float> wt = stackalloc float[MaxWidth * L];
        Span<float> stage = stackalloc float[L];
        Transpose(w, wt, nIn, nOut, L);
        stage.Clear();
        b.CopyTo(stage);
        ref float xp = ref MemoryMarshal.GetReference(x);
        ref float yp = ref MemoryMarshal.GetReference(y);
        ref float wp = ref MemoryMarshal.GetReference(wt);
        var bv = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(stage));
        // Rows whose full-vector store stays inside y; the rest go through the staging buffer.
        int direct = Math.Min(y.Length >= L ? (y.Length - L) / nOut + 1 : 0, batch);
        int r = 0;
        // Four rows at a time: four independent chains of multiply-adds sharing each load of Wᵀ.
        for (; r + 4 <= direct; r += 4)
        {
            ref float x0 = ref Unsafe.Add(ref xp, r * nIn);
            ref float x1 = ref Unsafe.Add(ref x0, nIn);
            ref float x2 = ref Unsafe.Add(ref x1, nIn);
            ref float x3 = ref Unsafe.Add(ref x2, nIn);
            Vector512<float> a0 = bv, a1 = bv, a2 = bv, a3 = bv;
            for (int k = 0; k < nIn; k++)
            {
                var wk = Vector512.LoadUnsafe(ref wp, (nuint)(k * L));
                a0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x0, k)), wk, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x1, k)), wk, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x2, k)), wk, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x3, k)), wk, a3);
            }
            if (relu)
            {
                a0 = Vector512.Max(a0, Vector512<float>.Zero);
                a1 = Vector512.Max(a1, Vector512<float>.Zero);
                a2 = Vector512.Max(a2, Vector512<float>.Zero);
                a3 = Vector512.Max(a3, Vector512<float>.Zero);
            }
            ref float y0 = ref Unsafe.Add(ref yp, r * nOut);
            a0.StoreUnsafe(ref y0);
            a1.StoreUnsafe(ref y0, (nuint)nOut);
            a2.StoreUnsafe(ref y0, (nuint)(2 * nOut));
            a3.StoreUnsafe(ref y0, (nuint)(3 * nOut));
        }
        for (; r < batch; r++)
        {
            ref float xr = ref Unsafe.Add(ref xp, r * nIn);
            var acc = bv;
            for (int k = 0; k < nIn; k++)
            {
                acc = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xr, k)), Vector512.LoadUnsafe(ref wp, (nuint)(k * L)), acc);
            }
            if (relu)
            {
                acc = Vector512.Max(acc, Vector512<float>.Zero);
            }
            if (r < direct)
            {
                acc.StoreUnsafe(ref yp, (nuint)(r * nOut));
            }
            else
            {
                StoreMasked(acc, ref Unsafe.Add(ref yp, r * nOut), nOut);
            }
        }
    }

    private static void ForwardTwo(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, int batch, int nIn, int nOut, bool relu)
    {
        Span<float> wt = stackalloc float[MaxWidth * 2 * L];
        Span<float> stage = stackalloc float[2 * L];
        Transpose(w, wt, nIn, nOut, 2 * L);
        stage.Clear();
        b.CopyTo(stage);
        ref float xp = ref MemoryMarshal.GetReference(x);
        ref float yp = ref MemoryMarshal.GetReference(y);
        ref float wp = ref MemoryMarshal.GetReference(wt);
        ref float sp = ref MemoryMarshal.GetReference(stage);
        var b0 = Vector512.LoadUnsafe(ref sp);
        var b1 = Vector512.LoadUnsafe(ref sp, L);
        int direct = Math.Min(y.Length >= 2 * L ? (y.Length - 2 * L) / nOut + 1 : 0, batch);
        for (int r = 0; r < batch; r++)
        {
            ref float xr = ref Unsafe.Add(ref xp, r * nIn);
            var a0 = b0;
            var a1 = b1;
            for (int k = 0; k < nIn; k++)
            {
                var xv = Vector512.Create(Unsafe.Add(ref xr, k));
                a0 = Vector512.FusedMultiplyAdd(xv, Vector512.LoadUnsafe(ref wp, (nuint)(k * 2 * L)), a0);
                a1 = Vector512.FusedMultiplyAdd(xv, Vector512.LoadUnsafe(ref wp, (nuint)(k * 2 * L + L)), a1);
            }
            if (relu)
            {
                a0 = Vector512.Max(a0, Vector512<float>.Zero);
                a1 = Vector512.Max(a1, Vector512<float>.Zero);
            }
            if (r < direct)
            {
                a0.StoreUnsafe(ref yp, (nuint)(r * nOut));
                a1.StoreUnsafe(ref yp, (nuint)(r * nOut + L));
            }
            else
            {
                a0.StoreUnsafe(ref yp, (nuint)(r * nOut)); // nOut > 16: the first vector stays inside the row
                StoreMasked(a1, ref Unsafe.Add(ref yp, r * nOut + L), nOut - L);
            }
        }
    }

    /// <summary>
    /// Adds the parameter gradients of one backward pass in one pass over the batch: <c>dw[o, k] += Σᵣ dy[r, o]·x[r, k]</c>
    /// and <c>db[o] += Σᵣ dy[r, o]</c>; an empty <paramref name="dw"/> or <paramref name="db"/> is skipped (a frozen
    /// parameter, <see cref="Parameter.RequiresGrad"/> false).
    /// </summary>
    /// <typeparam name="TIn">In features (1 … <see cref="MaxWidth"/>).</typeparam>
    /// <typeparam name="TOut">Out features (1 … <see cref="MaxWidth"/>).</typeparam>
    /// <param name="dy">Gradient of the output, <c>[batch, out]</c>.</param>
    /// <param name="x">The forward input, <c>[batch, in]</c>.</param>
    /// <param name="dw">Weight gradient, <c>[out, in]</c>, added to; or empty.</param>
    /// <param name="db">Bias gradient, <c>[out]</c>, added to; or empty.</param>
    /// <param name="batch">Rows (≥ 0).</param>
    /// <exception cref="ArgumentException">A span has another length, or a width is outside 1 … <see cref="MaxWidth"/>.</exception>
    /// <remarks>
    /// Eight input features at a time (one for layers wider than 16 outputs) keep their sums over the rows in registers
    /// (each a vector along the outputs; even and odd rows apart for layers up to 16 outputs), the bias's with the first
    /// group; the rows are read once per group.
    /// </remarks>
    public static void BackwardParameters<TIn, TOut>(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw, Span<float> db, int batch)
        where TIn : struct, ISize
        where TOut : struct, ISize
    {
        int nIn = TIn.Value, nOut = TOut.Value;
        CheckWidths(nIn, nOut);
        CheckLengths(x.Length, (long)batch * nIn, dy.Length, (long)batch * nOut, dw.Length, dw.Length == 0 ? 0 : (long)nOut * nIn);
        if (db.Length != 0 && db.Length != nOut)
        {
            ThrowBiasLength("Bias gradient", db.Length, nOut, nameof(db));
        }
        if (dw.Length == 0 && db.Length == 0)
        {
            return;
        }
        if (!IsAccelerated)
        {
            if (dw.Length != 0)
            {
                LinearKernels.BackwardWeight(dy, x, dw, batch, nIn, nOut);
            }
            if (db.Length != 0)
            {
                LinearKernels.BackwardBias(dy, db, batch, nOut);
            }
            return;
        }
        if (nOut <= L)
        {
            BackwardParametersOne(dy, x, dw, db, batch, nIn, nOut);
        }
        else
        {
            BackwardParametersTwo(dy, x, dw, db, batch, nIn, nOut);
        }
    }

    // Eight input features per pass over the rows, their sums (vectors along the outputs) in registers, the bias's with
    // the first pass; even and odd rows into separate sums (added at the end) so that two chains of fused multiply-adds
    // run at once.
    private static void BackwardParametersOne(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw, Span<float> db, int batch, int nIn, int nOut)
    {
        Span<float> sums = stackalloc float[(G + 1) * L];
        ref float xp = ref MemoryMarshal.GetReference(x);
        ref float dyp = ref MemoryMarshal.GetReference(dy);
        ref float tp = ref MemoryMarshal.GetReference(sums);
        int direct = Math.Min(dy.Length >= L ? (dy.Length - L) / nOut + 1 : 0, batch);
        bool weights = dw.Length != 0;
        int groups = weights ? (nIn + G - 1) / G : 1;
        for (int g = 0; g < groups; g++)
        {
            int k0 = G * g, kc = weights ? Math.Min(G, nIn - k0) : 0;
            bool bias = g == 0 && db.Length != 0;
            Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default, a4 = default, b4 = default, a5 = default, b5 = default, a6 = default, b6 = default, a7 = default, b7 = default;
            Vector512<float> ab = default, bb = default;
            int r = 0;
            for (; r + 1 < batch; r += 2)
            {
                Vector512<float> ga = LoadRow(ref dyp, r, nOut, direct), gb = LoadRow(ref dyp, r + 1, nOut, direct);
                ref float xa = ref Unsafe.Add(ref xp, r * nIn + k0);
                ref float xb = ref Unsafe.Add(ref xa, nIn);
                if (kc > 0)
                {
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 0)), ga, a0);
                    b0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xb, 0)), gb, b0);
                }
                if (kc > 1)
                {
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 1)), ga, a1);
                    b1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xb, 1)), gb, b1);
                }
                if (kc > 2)
                {
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 2)), ga, a2);
                    b2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xb, 2)), gb, b2);
                }
                if (kc > 3)
                {
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 3)), ga, a3);
                    b3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xb, 3)), gb, b3);
                }
                if (kc > 4)
                {
                    a4 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 4)), ga, a4);
                    b4 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xb, 4)), gb, b4);
                }
                if (kc > 5)
                {
                    a5 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 5)), ga, a5);
                    b5 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xb, 5)), gb, b5);
                }
                if (kc > 6)
                {
                    a6 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 6)), ga, a6);
                    b6 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xb, 6)), gb, b6);
                }
                if (kc > 7)
                {
                    a7 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 7)), ga, a7);
                    b7 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xb, 7)), gb, b7);
                }
                if (bias)
                {
                    ab += ga;
                    bb += gb;
                }
            }
            if (r < batch)
            {
                Vector512<float> ga = LoadRow(ref dyp, r, nOut, direct);
                ref float xa = ref Unsafe.Add(ref xp, r * nIn + k0);
                if (kc > 0)
                {
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 0)), ga, a0);
                }
                if (kc > 1)
                {
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 1)), ga, a1);
                }
                if (kc > 2)
                {
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 2)), ga, a2);
                }
                if (kc > 3)
                {
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 3)), ga, a3);
                }
                if (kc > 4)
                {
                    a4 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 4)), ga, a4);
                }
                if (kc > 5)
                {
                    a5 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 5)), ga, a5);
                }
                if (kc > 6)
                {
                    a6 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 6)), ga, a6);
                }
                if (kc > 7)
                {
                    a7 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xa, 7)), ga, a7);
                }
                if (bias)
                {
                    ab += ga;
                }
            }
            (a0 + b0).StoreUnsafe(ref tp, 0 * L);
            (a1 + b1).StoreUnsafe(ref tp, 1 * L);
            (a2 + b2).StoreUnsafe(ref tp, 2 * L);
            (a3 + b3).StoreUnsafe(ref tp, 3 * L);
            (a4 + b4).StoreUnsafe(ref tp, 4 * L);
            (a5 + b5).StoreUnsafe(ref tp, 5 * L);
            (a6 + b6).StoreUnsafe(ref tp, 6 * L);
            (a7 + b7).StoreUnsafe(ref tp, 7 * L);
            (ab + bb).StoreUnsafe(ref tp, G * L);
            for (int o = 0; o < nOut; o++)
            {
                for (int j = 0; j < kc; j++)
                {
                    dw[o * nIn + k0 + j] += sums[j * L + o];
                }
                if (bias)
                {
                    db[o] += sums[G * L + o];
                }
            }
        }
    }

    private const int G = 8; // input features per pass of BackwardParametersOne

    // Row r of dy [batch, nOut] as one vector, zero past nOut: a full load for the rows with a whole vector left in dy,
    // a masked one for the last (a full-vector load would run past dy).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> LoadRow(ref float dyp, int r, int nOut, int direct) =>
        r < direct ? Vector512.LoadUnsafe(ref dyp, (nuint)(r * nOut)) : LoadMasked(ref Unsafe.Add(ref dyp, r * nOut), nOut);

    private static void BackwardParametersTwo(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw, Span<float> db, int batch, int nIn, int nOut)
    {
        Span<float> sums = stackalloc float[4 * L];
        ref float xp = ref MemoryMarshal.GetReference(x);
        ref float dyp = ref MemoryMarshal.GetReference(dy);
        ref float tp = ref MemoryMarshal.GetReference(sums);
        int direct = Math.Min(dy.Length >= 2 * L ? (dy.Length - 2 * L) / nOut + 1 : 0, batch);
        bool weights = dw.Length != 0;
        int groups = weights ? nIn : 1;
        for (int k = 0; k < groups; k++)
        {
            bool bias = k == 0 && db.Length != 0;
            Vector512<float> a0 = default, a1 = default, b0 = default, b1 = default;
            for (int r = 0; r < batch; r++)
            {
                Vector512<float> g0, g1;
                if (r < direct)
                {
                    g0 = Vector512.LoadUnsafe(ref dyp, (nuint)(r * nOut));
                    g1 = Vector512.LoadUnsafe(ref dyp, (nuint)(r * nOut + L));
                }
                else
                {
                    g0 = Vector512.LoadUnsafe(ref dyp, (nuint)(r * nOut));
                    g1 = LoadMasked(ref Unsafe.Add(ref dyp, r * nOut + L), nOut - L);
                }
                if (weights)
                {
                    var xv = Vector512.Create(Unsafe.Add(ref xp, r * nIn + k));
                    a0 = Vector512.FusedMultiplyAdd(xv, g0, a0);
                    a1 = Vector512.FusedMultiplyAdd(xv, g1, a1);
                }
                if (bias)
                {
                    b0 += g0;
                    b1 += g1;
                }
            }
            a0.StoreUnsafe(ref tp);
            a1.StoreUnsafe(ref tp, L);
            b0.StoreUnsafe(ref tp, 2 * L);
            b1.StoreUnsafe(ref tp, 3 * L);
            for (int o = 0; o < nOut; o++)
            {
                if (weights)
                {
                    dw[o * nIn + k] += sums[o];
                }
                if (bias)
                {
                    db[o] += sums[2 * L + o];
                }
            }
        }
    }

    /// <summary>
    /// The input gradient: <c>dx[r, k] = Σₒ dy[r, o]·w[o, k]</c> (overwrites <paramref name="dx"/>).
    /// </summary>
    /// <typeparam name="TIn">In features (1 … <see cref="MaxWidth"/>).</typeparam>
    /// <typeparam name="TOut">Out features (1 … <see cref="MaxWidth"/>).</typeparam>
    /// <param name="dy">Gradient of the output, <c>[batch, out]</c>.</param>
    /// <param name="w">Weight, <c>[out, in]</c>.</param>
    /// <param name="dx">Gradient of the input, <c>[batch, in]</c>; overwritten (must not overlap <paramref name="dy"/>).</param>
    /// <param name="batch">Rows (≥ 0).</param>
    /// <exception cref="ArgumentException">A span has another length, or a width is outside 1 … <see cref="MaxWidth"/>.</exception>
    public static void BackwardInput<TIn, TOut>(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx, int batch)
        where TIn : struct, ISize
        where TOut : struct, ISize
    {
        int nIn = TIn.Value, nOut = TOut.Value;
        CheckWidths(nIn, nOut);
        CheckLengths(dx.Length, (long)batch * nIn, w.Length, (long)nOut * nIn, dy.Length, (long)batch * nOut);
        if (!IsAccelerated)
        {
            LinearKernels.BackwardInput(dy, w, dx, batch, nIn, nOut);
            return;
        }
        int chunks = nIn <= L ? 1 : 2;
        int stride = chunks * L;
        // W's rows padded to whole vectors: wp[o][k] = w[o, k], zero past nIn.
        Span<float> wpad = stackalloc float[MaxWidth * 2 * L];
        for (int o = 0; o < nOut; o++)
        {
            w.Slice(o * nIn, nIn).CopyTo(wpad.Slice(o * stride));
            wpad.Slice(o * stride + nIn, stride - nIn).Clear();
        }
        ref float wp = ref MemoryMarshal.GetReference(wpad);
        ref float dyp = ref MemoryMarshal.GetReference(dy);
        ref float dxp = ref MemoryMarshal.GetReference(dx);
        int direct = Math.Min(dx.Length >= stride ? (dx.Length - stride) / nIn + 1 : 0, batch);
        for (int r = 0; r < batch; r++)
        {
            ref float dyr = ref Unsafe.Add(ref dyp, r * nOut);
            var a0 = Vector512<float>.Zero;
            var a1 = Vector512<float>.Zero;
            for (int o = 0; o < nOut; o++)
            {
                var g = Vector512.Create(Unsafe.Add(ref dyr, o));
                a0 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref wp, (nuint)(o * stride)), a0);
                if (chunks == 2)
                {
                    a1 = Vector512.FusedMultiplyAdd(g, Vector512.LoadUnsafe(ref wp, (nuint)(o * stride + L)), a1);
                }
            }
            if (r < direct)
            {
                a0.StoreUnsafe(ref dxp, (nuint)(r * nIn));
                if (chunks == 2)
                {
                    a1.StoreUnsafe(ref dxp, (nuint)(r * nIn + L));
                }
            }
            else if (chunks == 1)
            {
                StoreMasked(a0, ref Unsafe.Add(ref dxp, r * nIn), nIn);
            }
            else
            {
                a0.StoreUnsafe(ref dxp, (nuint)(r * nIn));
                StoreMasked(a1, ref Unsafe.Add(ref dxp, r * nIn + L), nIn - L);
            }
        }
    }

    /// <summary>The first <paramref name="n"/> (1 … 16) lanes from <paramref name="source"/>, zero in the others; reads nothing past them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> LoadMasked(ref float source, int n)
    {
        fixed (float* p = &source)
        {
            return Avx512F.MaskLoad(p, Lanes(n), Vector512<float>.Zero);
        }
    }

    /// <summary>Stores the first <paramref name="n"/> (1 … 16) lanes of <paramref name="v"/>; writes nothing past them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreMasked(Vector512<float> v, ref float destination, int n)
    {
        fixed (float* p = &destination)
        {
            Avx512F.MaskStore(p, Lanes(n), v);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Lanes(int n) =>
        Vector512.LessThan(Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create(n)).AsSingle();

    // The checks are inlined (the widths are constants, so CheckWidths folds away); the throws stay out of line.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CheckLengths(int a, long ea, int b, long eb, int c, long ec)
    {
        if (a != ea || b != eb || c != ec)
        {
            ThrowLengths(a, ea, b, eb, c, ec);
        }
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBiasLength(string what, int length, int nOut, string name) =>
        throw new ArgumentException($"{what} has {length} values; expected {nOut}.", name);

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowLengths(int a, long ea, int b, long eb, int c, long ec) =>
        throw new ArgumentException($"Span lengths {a}, {b}, {c} do not match the expected {ea}, {eb}, {ec}.");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CheckWidths(int nIn, int nOut)
    {
        if (nIn < 1 || nIn > MaxWidth || nOut < 1 || nOut > MaxWidth)
        {
            ThrowWidths(nIn, nOut);
        }
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowWidths(int nIn, int nOut) =>
        throw new ArgumentException($"TinyLinearKernels takes widths 1 … {MaxWidth}; got {nIn} → {nOut}.");
}
