using ILGPU;
using ILGPU.Runtime;

namespace CompiledNets.Kernels.Gpu;

/// <summary>
/// The affine map of <c>nn.Linear</c> and its gradients as ILGPU kernels, with PyTorch's weight layout
/// <c>[out_features, in_features]</c>: <c>y = x·Wᵀ + b</c> (PyTorch: <c>torch.nn.functional.linear</c>); the GPU twin of
/// <see cref="Cpu.LinearKernels"/>, with the same arguments plus the <see cref="DeviceContext"/> and device spans.
/// </summary>
/// <remarks>
/// <para>All three products run one tiled shared-memory GEMM, <c>C[m, n] (+)= Σₖ A(m, k)·B(k, n)</c>, with A and B read
/// through strides so that no operand is transposed in memory (<c>x·Wᵀ</c>, <c>dy·W</c>, <c>dyᵀ·x</c>). Each group of
/// <c>T×T</c> threads computes a <c>T×T</c> tile of C, staging <c>T×T</c> tiles of A and B in shared memory per step
/// along k (the classic scheme of the CUDA C Programming Guide, "Shared Memory"), T = 8 or 4 as the group size allows
/// (ILGPU's CPU accelerator allows 16 threads). Where a group holds 256 threads (GPUs), a register-blocked variant
/// runs instead: 16×16 threads compute a 64×64 tile, 4×4 outputs each, from 64×16 and 16×64 shared tiles, so each
/// shared value read feeds four multiply-adds.
/// The epilogue fuses what the CPU path fuses: bias, ReLU and the dropout mask in the forward; the bias gradient
/// in the weight gradient.</para>
/// <para>Launches are queued; results are read with <see cref="DeviceSpan{T}.CopyToHost"/>. Results differ from the
/// CPU kernels only by float rounding (summation order).</para>
/// </remarks>
public static class LinearKernels
{
    /// <summary>How the GEMM's epilogue treats C and the extra operand.</summary>
    internal enum Epilogue
    {
        /// <summary><c>C = acc</c>.</summary>
        Store = 0,

        /// <summary><c>C = act(acc + bias[n])</c>, then times the dropout mask when enabled.</summary>
        Forward = 1,

        /// <summary><c>C += acc</c>; and <c>extra[m] += Σₖ A(m, k)</c> when the bias gradient is wanted.</summary>
        Accumulate = 2,
    }

    /// <summary>Sizes, strides and epilogue settings of one GEMM launch (one struct: ILGPU launchers take few arguments).</summary>
    internal struct GemmArgs
    {
        public int M, N, K, Tile;
        public int StrideAm, StrideAk, StrideBk, StrideBn;
        public Epilogue Epilogue;
        public int HasExtra, Relu, Dropout;
        public float DropoutP, DropoutScale;
        public PhiloxKey Key;
    }

    /// <summary>
    /// <c>y[r, o] = Σₖ x[r, k]·w[o, k] + b[o]</c>, then <c>max(y, 0)</c> when <paramref name="relu"/>.
    /// </summary>
    /// <param name="context">The device the spans live on.</param>
    /// <param name="x">Input, <c>[batch, inFeatures]</c>.</param>
    /// <param name="w">Weight, <c>[outFeatures, inFeatures]</c>.</param>
    /// <param name="b">Bias, <c>[outFeatures]</c>, or empty (<c>default</c>) for none.</param>
    /// <param name="y">Output, <c>[batch, outFeatures]</c>; overwritten.</param>
    /// <param name="batch">Rows of <paramref name="x"/>.</param>
    /// <param name="inFeatures">Columns of <paramref name="x"/> and <paramref name="w"/>.</param>
    /// <param name="outFeatures">Rows of <paramref name="w"/>.</param>
    /// <param name="relu">Apply ReLU in the same pass.</param>
    /// <exception cref="ArgumentException">A span has the wrong length or lives on another context.</exception>
    public static void Forward(DeviceContext context, DeviceSpan<float> x, DeviceSpan<float> w, DeviceSpan<float> b, DeviceSpan<float> y,
        int batch, int inFeatures, int outFeatures, bool relu = false)
    {
        CheckForward(context, x, w, b, y, batch, inFeatures, outFeatures);
        Launch(context, x, w, y, b, new GemmArgs
        {
            M = batch, N = outFeatures, K = inFeatures,
            StrideAm = inFeatures, StrideAk = 1, StrideBk = 1, StrideBn = inFeatures,
            Epilogue = Epilogue.Forward, HasExtra = b.IsEmpty ? 0 : 1, Relu = relu ? 1 : 0,
        });
    }

    /// <summary>
    /// <see cref="Forward"/> followed by inverted dropout in the same pass: <c>mask[r, o] = u &lt; p ? 0 : 1/(1 − p)</c>
    /// with <c>u = Philox.Uniform(key, r·outFeatures + o)</c>, and <c>y *= mask</c>; the mask is bit-identical to
    /// <see cref="Cpu.PhiloxDropoutKernels.Forward"/> on the same key.
    /// </summary>
    /// <param name="context">The device the spans live on.</param>
    /// <param name="x">Input, <c>[batch, inFeatures]</c>.</param>
    /// <param name="w">Weight, <c>[outFeatures, inFeatures]</c>.</param>
    /// <param name="b">Bias, <c>[outFeatures]</c>, or empty for none.</param>
    /// <param name="y">Output, <c>[batch, outFeatures]</c>; overwritten.</param>
    /// <param name="mask">Receives the dropout mask, <c>[batch, outFeatures]</c>.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="inFeatures">Input features.</param>
    /// <param name="outFeatures">Output features.</param>
    /// <param name="relu">Apply ReLU before dropout.</param>
    /// <param name="p">Dropout probability in [0, 1].</param>
    /// <param name="key">The random stream (seed, layer, step).</param>
    /// <exception cref="ArgumentException">A span has the wrong length or lives on another context.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public static void ForwardDropout(DeviceContext context, DeviceSpan<float> x, DeviceSpan<float> w, DeviceSpan<float> b, DeviceSpan<float> y,
        DeviceSpan<float> mask, int batch, int inFeatures, int outFeatures, bool relu, float p, PhiloxKey key)
    {
        CheckForward(context, x, w, b, y, batch, inFeatures, outFeatures);
        Cpu.PhiloxDropoutKernels.CheckProbability(p);
        context.Check(mask, nameof(mask));
        CheckLength(mask.Length, (long)batch * outFeatures, nameof(mask));
        Launch(context, x, w, y, b, new GemmArgs
        {
            M = batch, N = outFeatures, K = inFeatures,
            StrideAm = inFeatures, StrideAk = 1, StrideBk = 1, StrideBn = inFeatures,
            Epilogue = Epilogue.Forward, HasExtra = b.IsEmpty ? 0 : 1, Relu = relu ? 1 : 0,
            Dropout = 1, DropoutP = p, DropoutScale = Philox.DropoutScale(p), Key = key,
        }, mask);
    }

    /// <summary>Gradient of the input: <c>dx[r, k] = Σₒ dy[r, o]·w[o, k]</c> (overwrites <paramref name="dx"/>).</summary>
    /// <param name="context">The device the spans live on.</param>
    /// <param name="dy">Gradient of the output, <c>[batch, outFeatures]</c>.</param>
    /// <param name="w">Weight, <c>[outFeatures, inFeatures]</c>.</param>
    /// <param name="dx">Gradient of the input, <c>[batch, inFeatures]</c>.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="inFeatures">Input features.</param>
    /// <param name="outFeatures">Output features.</param>
    /// <exception cref="ArgumentException">A span has the wrong length or lives on another context.</exception>
    public static void BackwardInput(DeviceContext context, DeviceSpan<float> dy, DeviceSpan<float> w, DeviceSpan<float> dx,
        int batch, int inFeatures, int outFeatures)
    {
        CheckSizes(batch, inFeatures, outFeatures);
        context.Check(dy, nameof(dy));
        context.Check(w, nameof(w));
        context.Check(dx, nameof(dx));
        CheckLength(dy.Length, (long)batch * outFeatures, nameof(dy));
        CheckLength(w.Length, (long)outFeatures * inFeatures, nameof(w));
        CheckLength(dx.Length, (long)batch * inFeatures, nameof(dx));
        Launch(context, dy, w, dx, default, new GemmArgs
        {
            M = batch, N = inFeatures, K = outFeatures,
            StrideAm = outFeatures, StrideAk = 1, StrideBk = inFeatures, StrideBn = 1,
            Epilogue = Epilogue.Store,
        });
    }

    /// <summary>
    /// Gradients of the weight and bias, accumulated: <c>dw[o, k] += Σᵣ dy[r, o]·x[r, k]</c> and
    /// <c>db[o] += Σᵣ dy[r, o]</c>, in one kernel.
    /// </summary>
    /// <param name="context">The device the spans live on.</param>
    /// <param name="dy">Gradient of the output, <c>[batch, outFeatures]</c>.</param>
    /// <param name="x">The forward input, <c>[batch, inFeatures]</c>.</param>
    /// <param name="dw">Weight gradient, <c>[outFeatures, inFeatures]</c>; added to.</param>
    /// <param name="db">Bias gradient, <c>[outFeatures]</c>, added to; or empty for a layer without bias.</param>
    /// <param name="batch">Rows.</param>
    /// <param name="inFeatures">Input features.</param>
    /// <param name="outFeatures">Output features.</param>
    /// <exception cref="ArgumentException">A span has the wrong length or lives on another context.</exception>
    public static void BackwardWeight(DeviceContext context, DeviceSpan<float> dy, DeviceSpan<float> x, DeviceSpan<float> dw, DeviceSpan<float> db,
        int batch, int inFeatures, int outFeatures)
    {
        CheckSizes(batch, inFeatures, outFeatures);
        context.Check(dy, nameof(dy));
        context.Check(x, nameof(x));
        context.Check(dw, nameof(dw));
        context.Check(db, nameof(db));
        CheckLength(dy.Length, (long)batch * outFeatures, nameof(dy));
        CheckLength(x.Length, (long)batch * inFeatures, nameof(x));
        CheckLength(dw.Length, (long)outFeatures * inFeatures, nameof(dw));
        if (!db.IsEmpty)
        {
            CheckLength(db.Length, outFeatures, nameof(db));
        }
        Launch(context, dy, x, dw, db, new GemmArgs
        {
            M = outFeatures, N = inFeatures, K = batch,
            StrideAm = 1, StrideAk = outFeatures, StrideBk = inFeatures, StrideBn = 1,
            Epilogue = Epilogue.Accumulate, HasExtra = db.IsEmpty ? 0 : 1,
        });
    }

    /// <summary>
    /// The output tile edge for <paramref name="context"/>: 64 (the register-blocked kernel) where a group can hold
    /// 256 threads (GPUs), else 8 or 4, the largest whose square fits in a group (ILGPU's CPU accelerator allows 16).
    /// </summary>
    internal static int TileSize(DeviceContext context) =>
        context.MaxThreadsPerGroup >= BlockThreads * BlockThreads ? BlockTile : context.MaxThreadsPerGroup >= 64 ? 8 : 4;

    /// <summary>The register-blocked kernel: 16×16 threads, each computing 4×4 outputs of a 64×64 tile, 16 deep per step.</summary>
    private const int BlockThreads = 16, BlockTile = 64, BlockDepth = 16, PerThread = 4;

    private static void Launch(DeviceContext context, DeviceSpan<float> a, DeviceSpan<float> b, DeviceSpan<float> c, DeviceSpan<float> extra,
        GemmArgs args, DeviceSpan<float> mask = default)
    {
        if (args.M == 0 || args.N == 0)
        {
            return;
        }
        int t = TileSize(context);
        args.Tile = t;
        var none = context.NoFloats;
        if (t == BlockTile)
        {
            var blocked = context.Kernel("Linear.GemmBlocked", static acc =>
                acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmBlockedKernel));
            blocked(new KernelConfig(new Index2D((args.N + t - 1) / t, (args.M + t - 1) / t), new Index2D(BlockThreads, BlockThreads)),
                a.View(none), b.View(none), c.View(none), extra.View(none), mask.View(none), args);
            return;
        }
        var kernel = context.Kernel("Linear.Gemm", static acc =>
            acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmKernel));
        var config = new KernelConfig(
            new Index2D((args.N + t - 1) / t, (args.M + t - 1) / t),
            new Index2D(t, t),
            SharedMemoryConfig.RequestDynamic<float>(2 * t * t));
        kernel(config, a.View(none), b.View(none), c.View(none), extra.View(none), mask.View(none), args);
    }

    /// <summary>
    /// One <c>T×T</c> tile of <c>C[m, n] (+)= Σₖ A(m, k)·B(k, n)</c>, with <c>A(m, k) = a[m·StrideAm + k·StrideAk]</c> and
    /// <c>B(k, n) = b[k·StrideBk + n·StrideBn]</c>; thread (tx, ty) of group (gx, gy) owns <c>C[gy·T + ty, gx·T + tx]</c>.
    /// </summary>
    internal static void GemmKernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> extra,
        ArrayView<float> mask, GemmArgs g)
    {
        ArrayView<float> shared = SharedMemory.GetDynamic<float>();
        int t = g.Tile;
        int tx = Group.IdxX, ty = Group.IdxY;
        int n = Grid.IdxX * t + tx;
        int m = Grid.IdxY * t + ty;
        int tileB = t * t;
        bool biasGrad = g.Epilogue == Epilogue.Accumulate && g.HasExtra != 0 && Grid.IdxX == 0 && tx == 0;
        float acc = 0f, rowSum = 0f;
        for (int k0 = 0; k0 < g.K; k0 += t)
        {
            int ka = k0 + tx;
            shared[ty * t + tx] = m < g.M && ka < g.K ? a[(long)m * g.StrideAm + (long)ka * g.StrideAk] : 0f;
            int kb = k0 + ty;
            shared[tileB + ty * t + tx] = kb < g.K && n < g.N ? b[(long)kb * g.StrideBk + (long)n * g.StrideBn] : 0f;
            Group.Barrier();
            for (int kk = 0; kk < t; kk++)
            {
                acc += shared[ty * t + kk] * shared[tileB + kk * t + tx];
            }
            if (biasGrad)
            {
                for (int kk = 0; kk < t; kk++)
                {
                    rowSum += shared[ty * t + kk];
                }
            }
            Group.Barrier();
        }
        if (m >= g.M)
        {
            return;
        }
        if (biasGrad)
        {
            extra[m] += rowSum;
        }
        if (n >= g.N)
        {
            return;
        }
        Store(c, extra, mask, g, m, n, acc);
    }

    /// <summary>The epilogue for output (m, n): store, accumulate, or bias + ReLU + dropout mask.</summary>
    private static void Store(ArrayView<float> c, ArrayView<float> extra, ArrayView<float> mask, GemmArgs g, int m, int n, float acc)
    {
        long index = (long)m * g.N + n;
        if (g.Epilogue == Epilogue.Store)
        {
            c[index] = acc;
        }
        else if (g.Epilogue == Epilogue.Accumulate)
        {
            c[index] += acc;
        }
        else
        {
            float v = g.HasExtra != 0 ? acc + extra[n] : acc;
            if (g.Relu != 0 && !(v > 0f))
            {
                v = 0f;
            }
            if (g.Dropout != 0)
            {
                float mv = Philox.DropoutMask(Philox.Generate(g.Key, index >> 2)[(int)(index & 3)], g.DropoutP, g.DropoutScale);
                mask[index] = mv;
                v *= mv;
            }
            c[index] = v;
        }
    }

    /// <summary>
    /// One 64×64 tile of the same product by 16×16 threads: thread (tx, ty) accumulates the 4×4 outputs
    /// <c>C[gy·64 + ty + 16i, gx·64 + tx + 16j]</c> in registers, reading 64×16 tiles of A and 16×64 tiles of B staged
    /// in shared memory (each loaded along whichever of its dimensions is contiguous in memory, so loads coalesce).
    /// </summary>
    internal static void GemmBlockedKernel(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> extra,
        ArrayView<float> mask, GemmArgs g)
    {
        ArrayView<float> sa = SharedMemory.Allocate<float>(BlockDepth * BlockTile); // [k][m]
        ArrayView<float> sb = SharedMemory.Allocate<float>(BlockDepth * BlockTile); // [k][n]
        int tx = Group.IdxX, ty = Group.IdxY;
        int tid = ty * BlockThreads + tx;
        int m0 = Grid.IdxY * BlockTile, n0 = Grid.IdxX * BlockTile;
        bool biasGrad = g.Epilogue == Epilogue.Accumulate && g.HasExtra != 0 && Grid.IdxX == 0 && tx == 0;
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int k0 = 0; k0 < g.K; k0 += BlockDepth)
        {
            for (int e = 0; e < PerThread; e++)
            {
                int idx = tid + e * BlockThreads * BlockThreads;
                // A tile: k fastest when A's k stride is 1, else m fastest.
                int am = g.StrideAk == 1 ? idx / BlockDepth : idx % BlockTile;
                int ak = g.StrideAk == 1 ? idx % BlockDepth : idx / BlockTile;
                int gm = m0 + am, gk = k0 + ak;
                sa[ak * BlockTile + am] = gm < g.M && gk < g.K ? a[(long)gm * g.StrideAm + (long)gk * g.StrideAk] : 0f;
                int bn = g.StrideBk == 1 ? idx / BlockDepth : idx % BlockTile;
                int bk = g.StrideBk == 1 ? idx % BlockDepth : idx / BlockTile;
                int gn = n0 + bn, gkb = k0 + bk;
                sb[bk * BlockTile + bn] = gkb < g.K && gn < g.N ? b[(long)gkb * g.StrideBk + (long)gn * g.StrideBn] : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < BlockDepth; kk++)
            {
                int ra = kk * BlockTile + ty, rb = kk * BlockTile + tx;
                float a0 = sa[ra], a1 = sa[ra + 16], a2 = sa[ra + 32], a3 = sa[ra + 48];
                float b0 = sb[rb], b1 = sb[rb + 16], b2 = sb[rb + 32], b3 = sb[rb + 48];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
                if (biasGrad)
                {
                    s0 += a0; s1 += a1; s2 += a2; s3 += a3;
                }
            }
            Group.Barrier();
        }
        StoreRow(c, extra, mask, g, m0 + ty, n0 + tx, biasGrad, s0, c00, c01, c02, c03);
        StoreRow(c, extra, mask, g, m0 + ty + 16, n0 + tx, biasGrad, s1, c10, c11, c12, c13);
        StoreRow(c, extra, mask, g, m0 + ty + 32, n0 + tx, biasGrad, s2, c20, c21, c22, c23);
        StoreRow(c, extra, mask, g, m0 + ty + 48, n0 + tx, biasGrad, s3, c30, c31, c32, c33);
    }

    /// <summary>The four outputs of one row of a thread's 4×4 block (columns n, n + 16, n + 32, n + 48), and its bias-gradient sum.</summary>
    private static void StoreRow(ArrayView<float> c, ArrayView<float> extra, ArrayView<float> mask, GemmArgs g,
        int m, int n, bool biasGrad, float rowSum, float v0, float v1, float v2, float v3)
    {
        if (m >= g.M)
        {
            return;
        }
        if (biasGrad)
        {
            extra[m] += rowSum;
        }
        if (n < g.N)
        {
            Store(c, extra, mask, g, m, n, v0);
        }
        if (n + 16 < g.N)
        {
            Store(c, extra, mask, g, m, n + 16, v1);
        }
        if (n + 32 < g.N)
        {
            Store(c, extra, mask, g, m, n + 32, v2);
        }
        if (n + 48 < g.N)
        {
            Store(c, extra, mask, g, m, n + 48, v3);
        }
    }

    private static void CheckForward(DeviceContext context, DeviceSpan<float> x, DeviceSpan<float> w, DeviceSpan<float> b, DeviceSpan<float> y,
        int batch, int inFeatures, int outFeatures)
    {
        ArgumentNullException.ThrowIfNull(context);
        CheckSizes(batch, inFeatures, outFeatures);
        context.Check(x, nameof(x));
        context.Check(w, nameof(w));
        context.Check(b, nameof(b));
        context.Check(y, nameof(y));
        CheckLength(x.Length, (long)batch * inFeatures, nameof(x));
        CheckLength(w.Length, (long)outFeatures * inFeatures, nameof(w));
        CheckLength(y.Length, (long)batch * outFeatures, nameof(y));
        if (!b.IsEmpty)
        {
            CheckLength(b.Length, outFeatures, nameof(b));
        }
    }

    private static void CheckSizes(int batch, int inFeatures, int outFeatures)
    {
        if (batch < 0 || inFeatures < 0 || outFeatures < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), $"Sizes must be ≥ 0; got batch {batch}, inFeatures {inFeatures}, outFeatures {outFeatures}.");
        }
    }

    internal static void CheckLength(long actual, long expected, string name)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{name} has {actual} elements; expected {expected}.", name);
        }
    }
}
