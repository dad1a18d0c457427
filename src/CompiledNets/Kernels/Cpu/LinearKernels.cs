using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Numerics.Tensors;

namespace CompiledNets.Kernels.Cpu;

/// <summary>
/// The affine map of <c>nn.Linear</c> and its gradients on the CPU, with PyTorch's weight layout
/// <c>[out_features, in_features]</c>: <c>y = x·Wᵀ + b</c> (PyTorch: <c>torch.nn.functional.linear</c>).
/// </summary>
/// <remarks>
/// <para>All spans are row-major. Generated models call these with their layer sizes as constants, so the
/// choice of path below folds away.</para>
/// <para>Large layers (enough rows, at least 32 input features, and ≥ 16 K multiply-adds; see
/// <c>ForwardUsesGemm</c> and its siblings) go through <see cref="Gemm"/>, a packed, cache-blocked GEMM with an
/// 8×32 Vector512 (or 6×16 Vector256) micro-kernel; it handles the three layouts by packing
/// (<c>x·Wᵀ</c>, <c>dy·W</c>, <c>dyᵀ·x</c>) and applies bias and ReLU as it stores the output. It runs on up to
/// <see cref="Threads.Count"/> threads (bitwise the same result for any count) and, in a model's eval-mode forward,
/// reuses the weight packed by an earlier forward until the weight changes (<see cref="PackedWeightCache"/>).</para>
/// <para>Narrow layers (<c>ForwardUsesSmall</c> and its siblings: the padded operand fits in 256 KiB) go through
/// <see cref="SmallGemm"/>, vectorised along the output row (a 4-, 10- or 3-wide layer fills whole vectors). One or
/// two rows through a tiny layer (≤ 16 inputs, ≤ 256 weights) take a plain scalar loop; one row against a wide
/// weight keeps the row kernels (a 4-row block of the output in Vector256 registers while the weight streams by).
/// Results of the paths differ only by float rounding (summation order).</para>
/// </remarks>
public static class LinearKernels
{
    /// <summary>
    /// <c>y[r, o] = Σₖ x[r, k]·w[o, k] + b[o]</c>, then <c>max(y, 0)</c> when <paramref name="relu"/>.
    /// </summary>
    /// <param name="x">Input, <c>[batch, inFeatures]</c>.</param>
    /// <param name="w">Weight, <c>[outFeatures, inFeatures]</c>.</param>
    /// <param name="b">Bias, <c>[outFeatures]</c>, or empty for none.</param>
    /// <param name="y">Output, <c>[batch, outFeatures]</c>; overwritten.</param>
    /// <param name="batch">Rows of <paramref name="x"/>.</param>
    /// <param name="inFeatures">Columns of <paramref name="x"/> and <paramref name="w"/>.</param>
    /// <param name="outFeatures">Rows of <paramref name="w"/>.</param>
    /// <param name="relu">Apply ReLU in the same pass.</param>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y,
        int batch, int inFeatures, int outFeatures, bool relu = false)
    {
        CheckLengths(x.Length, (long)batch * inFeatures, w.Length, (long)outFeatures * inFeatures, y.Length, (long)batch * outFeatures);
        if (b.Length != 0 && b.Length != outFeatures)
        {
            throw new ArgumentException($"Bias has {b.Length} values; expected {outFeatures}.", nameof(b));
        }
        if (ForwardUsesGemm(batch, inFeatures, outFeatures))
        {
            unsafe
            {
                Gemm.Forward(x, w, b, y, batch, inFeatures, outFeatures, relu, packedW: (nint)PackedWeightCache.TryGet(w, inFeatures, outFeatures));
            }
            return;
        }
        if (batch <= 2 && inFeatures <= 16 && inFeatures * outFeatures <= 256)
        {
            ForwardTiny(x, w, b, y, batch, inFeatures, outFeatures, relu);
            return;
        }
        if (ForwardUsesSmall(batch, inFeatures, outFeatures))
        {
            SmallGemm.Forward(x, w, b, y, batch, inFeatures, outFeatures, relu);
            return;
        }
        ForwardRows(x, w, b, y, batch, inFeatures, outFeatures, relu);
    }

    /// <summary>
    /// One or two rows through a tiny layer (≤ 16 inputs, ≤ 256 weights; e.g. the Iris net at inference): plain
    /// scalar multiply-adds in depth order after the bias, with no buffer to fill first.
    /// </summary>
    internal static void ForwardTiny(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y,
        int batch, int inFeatures, int outFeatures, bool relu)
    {
        // Lengths were checked by Forward: read through references, without bounds checks.
        bool hasBias = b.Length != 0;
        ref float xp = ref MemoryMarshal.GetReference(x);
        ref float wp = ref MemoryMarshal.GetReference(w);
        ref float bp = ref MemoryMarshal.GetReference(b);
        ref float yp = ref MemoryMarshal.GetReference(y);
        for (int r = 0; r < batch; r++)
        {
            ref float xr = ref Unsafe.Add(ref xp, r * inFeatures);
            for (int o = 0; o < outFeatures; o++)
            {
                ref float wo = ref Unsafe.Add(ref wp, o * inFeatures);
                float s = hasBias ? Unsafe.Add(ref bp, o) : 0f;
                for (int k = 0; k < inFeatures; k++)
                {
                    s = MathF.FusedMultiplyAdd(Unsafe.Add(ref xr, k), Unsafe.Add(ref wo, k), s);
                }
                Unsafe.Add(ref yp, r * outFeatures + o) = relu ? MathF.Max(s, 0f) : s;
            }
        }
    }

    /// <summary>The small-size forward: one input row against four weight rows at a time.</summary>
    internal static void ForwardRows(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y,
        int batch, int inFeatures, int outFeatures, bool relu)
    {
        for (int r = 0; r < batch; r++)
        {
            ReadOnlySpan<float> xr = x.Slice(r * inFeatures, inFeatures);
            Span<float> yr = y.Slice(r * outFeatures, outFeatures);
            int o = 0;
            for (; o + 4 <= outFeatures; o += 4)
            {
                Dot4(xr, w.Slice(o * inFeatures, 4 * inFeatures), inFeatures, yr.Slice(o, 4));
            }
            for (; o < outFeatures; o++)
            {
                yr[o] = TensorPrimitives.Dot(xr, w.Slice(o * inFeatures, inFeatures));
            }
            if (b.Length != 0)
            {
                TensorPrimitives.Add(yr, b, yr);
            }
            if (relu)
            {
                TensorPrimitives.Max(yr, 0f, yr);
            }
        }
    }

    /// <summary>Four dot products of <paramref name="xr"/> with four consecutive weight rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot4(ReadOnlySpan<float> xr, ReadOnlySpan<float> w4, int n, Span<float> dest)
    {
        ref float xp = ref MemoryMarshal.GetReference(xr);
        ref float w0 = ref MemoryMarshal.GetReference(w4);
        ref float w1 = ref Unsafe.Add(ref w0, n);
        ref float w2 = ref Unsafe.Add(ref w0, 2 * n);
        ref float w3 = ref Unsafe.Add(ref w0, 3 * n);
        int k = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
            for (; k + Vector256<float>.Count <= n; k += Vector256<float>.Count)
            {
                var xv = Vector256.LoadUnsafe(ref xp, (nuint)k);
                a0 = Vector256.FusedMultiplyAdd(xv, Vector256.LoadUnsafe(ref w0, (nuint)k), a0);
                a1 = Vector256.FusedMultiplyAdd(xv, Vector256.LoadUnsafe(ref w1, (nuint)k), a1);
                a2 = Vector256.FusedMultiplyAdd(xv, Vector256.LoadUnsafe(ref w2, (nuint)k), a2);
                a3 = Vector256.FusedMultiplyAdd(xv, Vector256.LoadUnsafe(ref w3, (nuint)k), a3);
            }
            s0 = Vector256.Sum(a0);
            s1 = Vector256.Sum(a1);
            s2 = Vector256.Sum(a2);
            s3 = Vector256.Sum(a3);
        }
        for (; k < n; k++)
        {
            float xv = Unsafe.Add(ref xp, k);
            s0 += xv * Unsafe.Add(ref w0, k);
            s1 += xv * Unsafe.Add(ref w1, k);
            s2 += xv * Unsafe.Add(ref w2, k);
            s3 += xv * Unsafe.Add(ref w3, k);
        }
        dest[0] = s0;
        dest[1] = s1;
        dest[2] = s2;
        dest[3] = s3;
    }

    /// <summary>Gradient of the input: <c>dx[r, k] = Σₒ dy[r, o]·w[o, k]</c> (overwrites <paramref name="dx"/>).</summary>
    /// <param name="dy">Gradient of the output, <c>[batch, outFeatures]</c>.</param>
    /// <param name="w">Weight, <c>[outFeatures, inFeatures]</c>.</param>
    /// <param name="dx">Gradient of the input, <c>[batch, inFeatures]</c>.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="inFeatures">Input features.</param>
    /// <param name="outFeatures">Output features.</param>
    /// <remarks>Four rows of <paramref name="dx"/> per pass over <paramref name="w"/>, one Vector256 of columns at a time, in registers.</remarks>
    public static void BackwardInput(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx,
        int batch, int inFeatures, int outFeatures)
    {
        CheckLengths(dx.Length, (long)batch * inFeatures, w.Length, (long)outFeatures * inFeatures, dy.Length, (long)batch * outFeatures);
        if (BackwardInputUsesGemm(batch, inFeatures, outFeatures))
        {
            Gemm.BackwardInput(dy, w, dx, batch, inFeatures, outFeatures);
            return;
        }
        if (BackwardInputUsesSmall(batch, inFeatures, outFeatures))
        {
            SmallGemm.BackwardInput(dy, w, dx, batch, inFeatures, outFeatures);
            return;
        }
        BackwardInputRows(dy, w, dx, batch, inFeatures, outFeatures);
    }

    /// <summary>The small-size input gradient: four rows of <paramref name="dx"/> per pass over <paramref name="w"/>.</summary>
    internal static void BackwardInputRows(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx,
        int batch, int inFeatures, int outFeatures)
    {
        const int V = 8; // Vector256<float>.Count
        ref float dyp = ref MemoryMarshal.GetReference(dy);
        ref float wp = ref MemoryMarshal.GetReference(w);
        ref float dxp = ref MemoryMarshal.GetReference(dx);
        int r = 0;
        for (; r + 4 <= batch; r += 4)
        {
            ref float g0 = ref Unsafe.Add(ref dyp, r * outFeatures);
            ref float g1 = ref Unsafe.Add(ref g0, outFeatures);
            ref float g2 = ref Unsafe.Add(ref g1, outFeatures);
            ref float g3 = ref Unsafe.Add(ref g2, outFeatures);
            ref float d0 = ref Unsafe.Add(ref dxp, r * inFeatures);
            int k = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; k + V <= inFeatures; k += V)
                {
                    Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
                    for (int o = 0; o < outFeatures; o++)
                    {
                        var wv = Vector256.LoadUnsafe(ref wp, (nuint)(o * inFeatures + k));
                        a0 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref g0, o)), wv, a0);
                        a1 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref g1, o)), wv, a1);
                        a2 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref g2, o)), wv, a2);
                        a3 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref g3, o)), wv, a3);
                    }
                    a0.StoreUnsafe(ref d0, (nuint)k);
                    a1.StoreUnsafe(ref d0, (nuint)(inFeatures + k));
                    a2.StoreUnsafe(ref d0, (nuint)(2 * inFeatures + k));
                    a3.StoreUnsafe(ref d0, (nuint)(3 * inFeatures + k));
                }
            }
            for (; k < inFeatures; k++)
            {
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int o = 0; o < outFeatures; o++)
                {
                    float wv = Unsafe.Add(ref wp, o * inFeatures + k);
                    s0 += Unsafe.Add(ref g0, o) * wv;
                    s1 += Unsafe.Add(ref g1, o) * wv;
                    s2 += Unsafe.Add(ref g2, o) * wv;
                    s3 += Unsafe.Add(ref g3, o) * wv;
                }
                Unsafe.Add(ref d0, k) = s0;
                Unsafe.Add(ref d0, inFeatures + k) = s1;
                Unsafe.Add(ref d0, 2 * inFeatures + k) = s2;
                Unsafe.Add(ref d0, 3 * inFeatures + k) = s3;
            }
        }
        for (; r < batch; r++)
        {
            Span<float> dxr = dx.Slice(r * inFeatures, inFeatures);
            dxr.Clear();
            ReadOnlySpan<float> dyr = dy.Slice(r * outFeatures, outFeatures);
            for (int o = 0; o < outFeatures; o++)
            {
                TensorPrimitives.MultiplyAdd(w.Slice(o * inFeatures, inFeatures), dyr[o], dxr, dxr);
            }
        }
    }

    /// <summary>Gradient of the weight, accumulated: <c>dw[o, k] += Σᵣ dy[r, o]·x[r, k]</c>.</summary>
    /// <param name="dy">Gradient of the output, <c>[batch, outFeatures]</c>.</param>
    /// <param name="x">The forward input, <c>[batch, inFeatures]</c>.</param>
    /// <param name="dw">Weight gradient, <c>[outFeatures, inFeatures]</c>; added to.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="inFeatures">Input features.</param>
    /// <param name="outFeatures">Output features.</param>
    /// <remarks>Four rows of <paramref name="dw"/> per pass over <paramref name="x"/>, one Vector256 of columns at a time, in registers.</remarks>
    public static void BackwardWeight(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw,
        int batch, int inFeatures, int outFeatures)
    {
        CheckLengths(x.Length, (long)batch * inFeatures, dw.Length, (long)outFeatures * inFeatures, dy.Length, (long)batch * outFeatures);
        if (BackwardWeightUsesGemm(batch, inFeatures, outFeatures))
        {
            Gemm.BackwardWeight(dy, x, dw, batch, inFeatures, outFeatures);
            return;
        }
        if (BackwardWeightUsesSmall(batch, inFeatures, outFeatures))
        {
            SmallGemm.BackwardWeight(dy, x, dw, batch, inFeatures, outFeatures);
            return;
        }
        BackwardWeightRows(dy, x, dw, batch, inFeatures, outFeatures);
    }

    /// <summary>The small-size weight gradient: four rows of <paramref name="dw"/> per pass over <paramref name="x"/>.</summary>
    internal static void BackwardWeightRows(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw,
        int batch, int inFeatures, int outFeatures)
    {
        const int V = 8; // Vector256<float>.Count
        ref float dyp = ref MemoryMarshal.GetReference(dy);
        ref float xp = ref MemoryMarshal.GetReference(x);
        ref float dwp = ref MemoryMarshal.GetReference(dw);
        int o = 0;
        for (; o + 4 <= outFeatures; o += 4)
        {
            ref float w0 = ref Unsafe.Add(ref dwp, o * inFeatures);
            int k = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; k + V <= inFeatures; k += V)
                {
                    var a0 = Vector256.LoadUnsafe(ref w0, (nuint)k);
                    var a1 = Vector256.LoadUnsafe(ref w0, (nuint)(inFeatures + k));
                    var a2 = Vector256.LoadUnsafe(ref w0, (nuint)(2 * inFeatures + k));
                    var a3 = Vector256.LoadUnsafe(ref w0, (nuint)(3 * inFeatures + k));
                    for (int r = 0; r < batch; r++)
                    {
                        var xv = Vector256.LoadUnsafe(ref xp, (nuint)(r * inFeatures + k));
                        ref float g = ref Unsafe.Add(ref dyp, r * outFeatures + o);
                        a0 = Vector256.FusedMultiplyAdd(Vector256.Create(g), xv, a0);
                        a1 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref g, 1)), xv, a1);
                        a2 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref g, 2)), xv, a2);
                        a3 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref g, 3)), xv, a3);
                    }
                    a0.StoreUnsafe(ref w0, (nuint)k);
                    a1.StoreUnsafe(ref w0, (nuint)(inFeatures + k));
                    a2.StoreUnsafe(ref w0, (nuint)(2 * inFeatures + k));
                    a3.StoreUnsafe(ref w0, (nuint)(3 * inFeatures + k));
                }
            }
            for (; k < inFeatures; k++)
            {
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (int r = 0; r < batch; r++)
                {
                    float xv = Unsafe.Add(ref xp, r * inFeatures + k);
                    ref float g = ref Unsafe.Add(ref dyp, r * outFeatures + o);
                    s0 += g * xv;
                    s1 += Unsafe.Add(ref g, 1) * xv;
                    s2 += Unsafe.Add(ref g, 2) * xv;
                    s3 += Unsafe.Add(ref g, 3) * xv;
                }
                Unsafe.Add(ref w0, k) += s0;
                Unsafe.Add(ref w0, inFeatures + k) += s1;
                Unsafe.Add(ref w0, 2 * inFeatures + k) += s2;
                Unsafe.Add(ref w0, 3 * inFeatures + k) += s3;
            }
        }
        for (; o < outFeatures; o++)
        {
            Span<float> dwo = dw.Slice(o * inFeatures, inFeatures);
            for (int r = 0; r < batch; r++)
            {
                TensorPrimitives.MultiplyAdd(x.Slice(r * inFeatures, inFeatures), dy[r * outFeatures + o], dwo, dwo);
            }
        }
    }

    /// <summary>Gradient of the bias, accumulated: <c>db[o] += Σᵣ dy[r, o]</c>.</summary>
    /// <param name="dy">Gradient of the output, <c>[batch, outFeatures]</c>.</param>
    /// <param name="db">Bias gradient, <c>[outFeatures]</c>; added to.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="outFeatures">Output features.</param>
    public static void BackwardBias(ReadOnlySpan<float> dy, Span<float> db, int batch, int outFeatures)
    {
        if (dy.Length != batch * outFeatures || db.Length != outFeatures)
        {
            throw new ArgumentException($"Expected dy of {batch * outFeatures} and db of {outFeatures} values; got {dy.Length} and {db.Length}.");
        }
        if (outFeatures < 16)
        {
            // Narrow: a call per row would cost more than its few additions. Same order: row by row.
            ref float g = ref MemoryMarshal.GetReference(dy);
            ref float d = ref MemoryMarshal.GetReference(db);
            for (int o = 0; o < outFeatures; o++)
            {
                float sum = Unsafe.Add(ref d, o);
                for (int r = 0; r < batch; r++)
                {
                    sum += Unsafe.Add(ref g, r * outFeatures + o);
                }
                Unsafe.Add(ref d, o) = sum;
            }
            return;
        }
        for (int r = 0; r < batch; r++)
        {
            TensorPrimitives.Add(db, dy.Slice(r * outFeatures, outFeatures), db);
        }
    }

    // When the packed GEMM beats the row kernels (measured on a 2-vCPU AVX-512 Xeon, 1 thread, see
    // tests/CompiledNets.Benchmarks/README.md): it pays for packing and for padding to its 8×32 tile, so it needs
    // enough rows to reuse a packed weight block, at least one full vector of columns, and some work overall.
    // Below these the row kernels win (e.g. the forward at batch < 16: 13 vs 4–7 GFLOP/s at 1024×1024);
    // above them the GEMM runs 1.5–10× faster (85–140 GFLOP/s at 256×1024×1024).
    private const long GemmMinMultiplyAdds = 16 * 1024;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Big(int batch, int inFeatures, int outFeatures) =>
        Gemm.IsSupported && (long)batch * inFeatures * outFeatures >= GemmMinMultiplyAdds;

    /// <summary>Forward: the GEMM's columns are the output features, its depth the input features.</summary>
    internal static bool ForwardUsesGemm(int batch, int inFeatures, int outFeatures) =>
        batch >= 16 && inFeatures >= 32 && outFeatures >= 32 && Big(batch, inFeatures, outFeatures);

    /// <summary>Input gradient: columns are the input features, depth the output features.</summary>
    internal static bool BackwardInputUsesGemm(int batch, int inFeatures, int outFeatures) =>
        batch >= 8 && inFeatures >= 32 && outFeatures >= 8 && Big(batch, inFeatures, outFeatures);

    /// <summary>Weight gradient: rows are the output features, columns the input features, depth the batch.</summary>
    internal static bool BackwardWeightUsesGemm(int batch, int inFeatures, int outFeatures) =>
        batch >= 4 && inFeatures >= 32 && outFeatures >= 8 && Big(batch, inFeatures, outFeatures);

    // The narrow-layer kernel (SmallGemm) copies B (the transposed weight, the weight, or x) into a padded buffer
    // first: cheap next to the product unless there is a single row, where the row kernels read the weight once.
    /// <summary>Forward below the GEMM: the narrow-layer kernel unless one row meets a wide weight.</summary>
    internal static bool ForwardUsesSmall(int batch, int inFeatures, int outFeatures) =>
        SmallGemm.Fits(inFeatures, outFeatures) && (batch >= 4 || inFeatures < 16);

    /// <summary>Input gradient below the GEMM: the narrow-layer kernel unless one row meets a wide weight.</summary>
    internal static bool BackwardInputUsesSmall(int batch, int inFeatures, int outFeatures) =>
        SmallGemm.Fits(outFeatures, inFeatures) && (batch >= 4 || inFeatures < 16);

    /// <summary>Weight gradient below the GEMM: the narrow-layer kernel whenever the padded input fits.</summary>
    internal static bool BackwardWeightUsesSmall(int batch, int inFeatures, int outFeatures) =>
        SmallGemm.Fits(batch, inFeatures);

    private static void CheckLengths(int a, long ea, int b, long eb, int c, long ec)
    {
        if (a != ea || b != eb || c != ec)
        {
            throw new ArgumentException($"Span lengths {a}, {b}, {c} do not match the expected {ea}, {eb}, {ec}.");
        }
    }
}
