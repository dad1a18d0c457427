using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
/// stored with full-vector stores that the next row overwrites, the last rows through a 16-float staging buffer.</para>
/// <para>Without Vector512 hardware (<see cref="IsAccelerated"/> false) each kernel runs the general
/// <see cref="LinearKernels"/> path, so the result never depends on the machine beyond float rounding.</para>
/// <para>Summation order differs from <see cref="LinearKernels"/> (float rounding only): the forward adds the
/// products in input-feature order after the bias, like <c>LinearKernels.ForwardTiny</c>.</para>
/// </remarks>
public static class TinyLinearKernels
{
    /// <summary>
    /// The widest layer side these kernels take (32: two Vector512 per row). Generated models use them when both
    /// widths of a Linear are at most this.
    /// </summary>
    public const int MaxWidth = 32;

    private const int L = 16; // Vector512<float>.Count

    /// <summary>Whether the vector path runs on this machine (Vector512 in hardware); else the kernels call <see cref="LinearKernels"/>.</summary>
    public static bool IsAccelerated => Vector512.IsHardwareAccelerated;

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
            throw new ArgumentException($"Bias has {b.Length} values; expected {nOut}.", nameof(b));
        }
        if (!IsAccelerated)
        {
            LinearKernels.Forward(x, w, b, y, batch, nIn, nOut, relu);
            return;
        }
        if (nOut <= L)
        {
            ForwardOne(x, w, b, y, batch, nIn, nOut, relu);
        }
        else
        {
            ForwardTwo(x, w, b, y, batch, nIn, nOut, relu);
        }
    }

    // Wᵀ as one vector per input feature: wt[k][o] = w[o, k], zero past nOut.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ReadOnlySpan<float> w, Span<float> wt, int nIn, int nOut, int stride)
    {
        wt.Clear();
        for (int o = 0; o < nOut; o++)
        {
            for (int k = 0; k < nIn; k++)
            {
                wt[k * stride + o] = w[o * nIn + k];
            }
        }
    }

    private static void ForwardOne(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, int batch, int nIn, int nOut, bool relu)
    {
        Span<float> wt = stackalloc float[MaxWidth * L];
        Span<float> bias = stackalloc float[L];
        Span<float> stage = stackalloc float[L];
        Transpose(w, wt, nIn, nOut, L);
        bias.Clear();
        b.CopyTo(bias);
        ref float xp = ref MemoryMarshal.GetReference(x);
        ref float yp = ref MemoryMarshal.GetReference(y);
        ref float wp = ref MemoryMarshal.GetReference(wt);
        var bv = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(bias));
        // Rows whose full-vector store stays inside y; the rest go through the staging buffer.
        int direct = y.Length >= L ? (y.Length - L) / nOut + 1 : 0;
        direct = Math.Min(direct, batch);
        for (int r = 0; r < batch; r++)
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
                acc.StoreUnsafe(ref MemoryMarshal.GetReference(stage));
                stage[..nOut].CopyTo(y.Slice(r * nOut, nOut));
            }
        }
    }

    private static void ForwardTwo(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, int batch, int nIn, int nOut, bool relu)
    {
        Span<float> wt = stackalloc float[MaxWidth * 2 * L];
        Span<float> bias = stackalloc float[2 * L];
        Span<float> stage = stackalloc float[2 * L];
        Transpose(w, wt, nIn, nOut, 2 * L);
        bias.Clear();
        b.CopyTo(bias);
        ref float xp = ref MemoryMarshal.GetReference(x);
        ref float yp = ref MemoryMarshal.GetReference(y);
        ref float wp = ref MemoryMarshal.GetReference(wt);
        ref float bp = ref MemoryMarshal.GetReference(bias);
        var b0 = Vector512.LoadUnsafe(ref bp);
        var b1 = Vector512.LoadUnsafe(ref bp, L);
        int direct = y.Length >= 2 * L ? (y.Length - 2 * L) / nOut + 1 : 0;
        direct = Math.Min(direct, batch);
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
                ref float sp = ref MemoryMarshal.GetReference(stage);
                a0.StoreUnsafe(ref sp);
                a1.StoreUnsafe(ref sp, L);
                stage[..nOut].CopyTo(y.Slice(r * nOut, nOut));
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
    public static void BackwardParameters<TIn, TOut>(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw, Span<float> db, int batch)
        where TIn : struct, ISize
        where TOut : struct, ISize
    {
        int nIn = TIn.Value, nOut = TOut.Value;
        CheckWidths(nIn, nOut);
        CheckLengths(x.Length, (long)batch * nIn, dy.Length, (long)batch * nOut, dw.Length, dw.Length == 0 ? 0 : (long)nOut * nIn);
        if (db.Length != 0 && db.Length != nOut)
        {
            throw new ArgumentException($"Bias gradient has {db.Length} values; expected {nOut}.", nameof(db));
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
        int chunks = nOut <= L ? 1 : 2;
        int stride = chunks * L;
        // Accumulators, one row of `stride` lanes per input feature, the bias's last: acc[k][o] = Σᵣ x[r, k]·dy[r, o].
        Span<float> acc = stackalloc float[(MaxWidth + 1) * 2 * L];
        Span<float> stage = stackalloc float[2 * L];
        acc.Clear();
        stage.Clear();
        ref float ap = ref MemoryMarshal.GetReference(acc);
        ref float xp = ref MemoryMarshal.GetReference(x);
        ref float dyp = ref MemoryMarshal.GetReference(dy);
        ref float sp = ref MemoryMarshal.GetReference(stage);
        int direct = dy.Length >= stride ? (dy.Length - stride) / nOut + 1 : 0;
        direct = Math.Min(direct, batch);
        bool weights = dw.Length != 0;
        for (int r = 0; r < batch; r++)
        {
            scoped ref float dyr = ref Unsafe.Add(ref dyp, r * nOut);
            if (r >= direct)
            {
                // The last rows: a full-vector load would run past dy; lanes past nOut are zero.
                MemoryMarshal.CreateReadOnlySpan(ref dyr, nOut).CopyTo(stage);
                dyr = ref sp;
            }
            var g0 = Vector512.LoadUnsafe(ref dyr);
            ref float xr = ref Unsafe.Add(ref xp, r * nIn);
            if (chunks == 1)
            {
                if (weights)
                {
                    for (int k = 0; k < nIn; k++)
                    {
                        ref float a = ref Unsafe.Add(ref ap, k * L);
                        Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref xr, k)), g0, Vector512.LoadUnsafe(ref a)).StoreUnsafe(ref a);
                    }
                }
                ref float ab = ref Unsafe.Add(ref ap, nIn * L);
                (Vector512.LoadUnsafe(ref ab) + g0).StoreUnsafe(ref ab);
            }
            else
            {
                var g1 = Vector512.LoadUnsafe(ref dyr, L);
                if (weights)
                {
                    for (int k = 0; k < nIn; k++)
                    {
                        ref float a = ref Unsafe.Add(ref ap, k * 2 * L);
                        var xv = Vector512.Create(Unsafe.Add(ref xr, k));
                        Vector512.FusedMultiplyAdd(xv, g0, Vector512.LoadUnsafe(ref a)).StoreUnsafe(ref a);
                        Vector512.FusedMultiplyAdd(xv, g1, Vector512.LoadUnsafe(ref a, L)).StoreUnsafe(ref a, L);
                    }
                }
                ref float ab = ref Unsafe.Add(ref ap, nIn * 2 * L);
                (Vector512.LoadUnsafe(ref ab) + g0).StoreUnsafe(ref ab);
                (Vector512.LoadUnsafe(ref ab, L) + g1).StoreUnsafe(ref ab, L);
            }
            if (r >= direct)
            {
                stage.Clear();
            }
        }
        if (weights)
        {
            for (int o = 0; o < nOut; o++)
            {
                for (int k = 0; k < nIn; k++)
                {
                    dw[o * nIn + k] += acc[k * stride + o];
                }
            }
        }
        if (db.Length != 0)
        {
            for (int o = 0; o < nOut; o++)
            {
                db[o] += acc[nIn * stride + o];
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
        Span<float> stage = stackalloc float[2 * L];
        wpad.Clear();
        for (int o = 0; o < nOut; o++)
        {
            w.Slice(o * nIn, nIn).CopyTo(wpad.Slice(o * stride));
        }
        ref float wp = ref MemoryMarshal.GetReference(wpad);
        ref float dyp = ref MemoryMarshal.GetReference(dy);
        ref float dxp = ref MemoryMarshal.GetReference(dx);
        ref float sp = ref MemoryMarshal.GetReference(stage);
        int direct = dx.Length >= stride ? (dx.Length - stride) / nIn + 1 : 0;
        direct = Math.Min(direct, batch);
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
            else
            {
                a0.StoreUnsafe(ref sp);
                if (chunks == 2)
                {
                    a1.StoreUnsafe(ref sp, L);
                }
                stage[..nIn].CopyTo(dx.Slice(r * nIn, nIn));
            }
        }
    }

    private static void CheckLengths(int a, long ea, int b, long eb, int c, long ec)
    {
        if (a != ea || b != eb || c != ec)
        {
            throw new ArgumentException($"Span lengths {a}, {b}, {c} do not match the expected {ea}, {eb}, {ec}.");
        }
    }

    private static void CheckWidths(int nIn, int nOut)
    {
        if (nIn < 1 || nIn > MaxWidth || nOut < 1 || nOut > MaxWidth)
        {
            throw new ArgumentException($"TinyLinearKernels takes widths 1 … {MaxWidth}; got {nIn} → {nOut}.");
        }
    }
}
