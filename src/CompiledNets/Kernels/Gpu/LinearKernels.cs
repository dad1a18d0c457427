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
/// along k (the classic scheme of the CUDA C Programming Guide, "Shared Memory"). T is 16 where the accelerator
/// allows 256 threads per group (GPUs), else the largest of 8 or 4 that fits (ILGPU's CPU accelerator allows 16).
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

    /// <summary>The tile edge for <paramref name="context"/>: 16, 8 or 4, the largest whose square fits in a group.</summary>
    internal static int TileSize(DeviceContext context) =>
        context.MaxThreadsPerGroup >= 256 ? 16 : context.MaxThreadsPerGroup >= 64 ? 8 : 4;

    private static void Launch(DeviceContext context, DeviceSpan<float> a, DeviceSpan<float> b, DeviceSpan<float> c, DeviceSpan<float> extra,
        GemmArgs args, DeviceSpan<float> mask = default)
    {
        if (args.M == 0 || args.N == 0)
        {
            return;
        }
        int t = TileSize(context);
        args.Tile = t;
        var kernel = context.Kernel("Linear.Gemm", static acc =>
            acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmKernel));
        var config = new KernelConfig(
            new Index2D((args.N + t - 1) / t, (args.M + t - 1) / t),
            new Index2D(t, t),
            SharedMemoryConfig.RequestDynamic<float>(2 * t * t));
        kernel(config, a.View(context.NoFloats), b.View(context.NoFloats), c.View(context.NoFloats),
            extra.View(context.NoFloats), mask.View(context.NoFloats), args);
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
