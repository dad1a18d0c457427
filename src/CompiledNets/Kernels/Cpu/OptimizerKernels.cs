using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CompiledNets.Kernels.Cpu;

/// <summary>Element-wise optimizer updates over flat spans of parameters, gradients and state, Vector512/256 with a scalar tail
/// (the same float32 expression in each, so a value's update does not depend on where it falls); large blocks are split
/// across <see cref="Threads.Count"/> threads in chunks of <see cref="ChunkLength"/> values.</summary>
public static class OptimizerKernels
{
    /// <summary>
    /// One Adam step (Kingma and Ba, 2015; PyTorch 1.13 <c>torch.optim.Adam</c>, and with
    /// <paramref name="decoupled"/> AdamW of Loshchilov and Hutter, 2019):
    /// <c>g ← grad + wd·p</c> (Adam) or <c>p ← p·(1 − lr·wd)</c> (AdamW);
    /// <c>m ← β₁m + (1 − β₁)g</c>; <c>v ← β₂v + (1 − β₂)g²</c>;
    /// <c>p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)</c>.
    /// </summary>
    /// <param name="p">Parameters, updated in place.</param>
    /// <param name="grad">Gradients, same length.</param>
    /// <param name="m">First moment (<c>exp_avg</c>), updated.</param>
    /// <param name="v">Second moment (<c>exp_avg_sq</c>), updated.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="beta1">β₁.</param>
    /// <param name="beta2">β₂.</param>
    /// <param name="eps">ε.</param>
    /// <param name="weightDecay">Weight decay.</param>
    /// <param name="step">The step number t, starting at 1.</param>
    /// <param name="decoupled">AdamW's decoupled weight decay instead of L2 added to the gradient.</param>
    public static void Adam(Span<float> p, ReadOnlySpan<float> grad, Span<float> m, Span<float> v,
        float lr, float beta1, float beta2, float eps, float weightDecay, long step, bool decoupled)
    {
        AdamCorrected(p, grad, m, v, lr, beta1, beta2, eps, weightDecay, 1 - Math.Pow(beta1, step), 1 - Math.Pow(beta2, step), decoupled);
    }

    /// <summary>
    /// <see cref="Adam"/> with the bias corrections given: <paramref name="bc1"/> = <c>1 − β₁ᵗ</c>, <paramref name="bc2"/> = <c>1 − β₂ᵗ</c>
    /// (an optimizer computes them once per step, see <see cref="BiasPower"/>).
    /// </summary>
    /// <remarks>A block of at least <see cref="MinElementsPerThread"/> values per thread runs on up to
    /// <see cref="Threads.Count"/> threads, bitwise the same for any count (see <see cref="ThreadsFor"/>).</remarks>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void AdamCorrected(Span<float> p, ReadOnlySpan<float> grad, Span<float> m, Span<float> v,
        float lr, float beta1, float beta2, float eps, float weightDecay, double bc1, double bc2, bool decoupled) =>
        AdamCorrectedOn(p, grad, m, v, lr, beta1, beta2, eps, weightDecay, bc1, bc2, decoupled, threads: 0);

    /// <summary><see cref="AdamCorrected"/>
    /// on <paramref name="threads"/> threads (0: <see cref="ThreadsFor"/>).</summary>
    internal static unsafe void AdamCorrectedOn(Span<float> p, ReadOnlySpan<float> grad, Span<float> m, Span<float> v,
        float lr, float beta1, float beta2, float eps, float weightDecay, double bc1, double bc2, bool decoupled, int threads)
    {
        int n = p.Length;
        if (grad.Length != n || m.Length != n || v.Length != n)
        {
            throw new ArgumentException($"Adam spans differ in length: p {n}, grad {grad.Length}, m {m.Length}, v {v.Length}.");
        }
        int workers = threads > 0 ? Math.Min(threads, ChunksOf(n)) : ThreadsFor(n);
        if (workers > 1)
        {
            fixed (float* pp = p, gp = grad, mp = m, vp = v)
            {
                var args = new JobArgs
                {
                    Kind = JobKind.Adam, N = n, P = pp, G = gp, M = mp, V = vp, Lr = lr, Beta1 = beta1, Beta2 = beta2, Eps = eps,
                    WeightDecay = weightDecay, Bc1 = bc1, Bc2 = bc2, Flag1 = decoupled,
                };
                if (TryRunThreaded(in args, workers))
                {
                    return;
                }
            }
        }
        AdamChunk(p, grad, m, v, lr, beta1, beta2, eps, weightDecay, bc1, bc2, decoupled);
    }

    /// <summary>The Adam update of one block on the calling thread (lengths checked by the caller).</summary>
    private static void AdamChunk(Span<float> p, ReadOnlySpan<float> grad, Span<float> m, Span<float> v,
        float lr, float beta1, float beta2, float eps, float weightDecay, double bc1, double bc2, bool decoupled)
    {
        int n = p.Length;
        float stepSize = (float)(lr / bc1);
        float bc2Sqrt = (float)Math.Sqrt(bc2);
        float l2 = decoupled ? 0f : weightDecay;
        float shrink = decoupled ? 1f - lr * weightDecay : 1f;
        float c1 = 1f - beta1, c2 = 1f - beta2;
        ref float pp = ref MemoryMarshal.GetReference(p);
        ref float gp = ref MemoryMarshal.GetReference(grad);
        ref float mp = ref MemoryMarshal.GetReference(m);
        ref float vp = ref MemoryMarshal.GetReference(v);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            // The same float operations as the Vector256 and scalar loops below, sixteen at a time.
            var vb1 = Vector512.Create(beta1); var vb2 = Vector512.Create(beta2);
            var vc1 = Vector512.Create(c1); var vc2 = Vector512.Create(c2);
            var vl2 = Vector512.Create(l2); var vshrink = Vector512.Create(shrink);
            var vstep = Vector512.Create(stepSize); var vbc2 = Vector512.Create(bc2Sqrt); var veps = Vector512.Create(eps);
            for (; i + Vector512<float>.Count <= n; i += Vector512<float>.Count)
            {
                var pv = Vector512.LoadUnsafe(ref pp, (nuint)i);
                var g = Vector512.LoadUnsafe(ref gp, (nuint)i) + vl2 * pv;
                pv *= vshrink;
                var mv = Vector512.LoadUnsafe(ref mp, (nuint)i) * vb1 + g * vc1;
                var vv = Vector512.LoadUnsafe(ref vp, (nuint)i) * vb2 + g * g * vc2;
                var denom = Vector512.Sqrt(vv) / vbc2 + veps;
                pv -= vstep * (mv / denom);
                mv.StoreUnsafe(ref mp, (nuint)i);
                vv.StoreUnsafe(ref vp, (nuint)i);
                pv.StoreUnsafe(ref pp, (nuint)i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var vb1 = Vector256.Create(beta1); var vb2 = Vector256.Create(beta2);
            var vc1 = Vector256.Create(c1); var vc2 = Vector256.Create(c2);
            var vl2 = Vector256.Create(l2); var vshrink = Vector256.Create(shrink);
            var vstep = Vector256.Create(stepSize); var vbc2 = Vector256.Create(bc2Sqrt); var veps = Vector256.Create(eps);
            for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count)
            {
                var pv = Vector256.LoadUnsafe(ref pp, (nuint)i);
                var g = Vector256.LoadUnsafe(ref gp, (nuint)i) + vl2 * pv;
                pv *= vshrink;
                var mv = Vector256.LoadUnsafe(ref mp, (nuint)i) * vb1 + g * vc1;
                var vv = Vector256.LoadUnsafe(ref vp, (nuint)i) * vb2 + g * g * vc2;
                var denom = Vector256.Sqrt(vv) / vbc2 + veps;
                pv -= vstep * (mv / denom);
                mv.StoreUnsafe(ref mp, (nuint)i);
                vv.StoreUnsafe(ref vp, (nuint)i);
                pv.StoreUnsafe(ref pp, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float pv = Unsafe.Add(ref pp, i);
            float g = Unsafe.Add(ref gp, i) + l2 * pv;
            pv *= shrink;
            float mv = Unsafe.Add(ref mp, i) * beta1 + g * c1;
            float vv = Unsafe.Add(ref vp, i) * beta2 + g * g * c2;
            float denom = MathF.Sqrt(vv) / bc2Sqrt + eps;
            Unsafe.Add(ref mp, i) = mv;
            Unsafe.Add(ref vp, i) = vv;
            Unsafe.Add(ref pp, i) = pv - stepSize * (mv / denom);
        }
    }

    /// <summary>
    /// <c>βᵗ</c> as <see cref="Math.Pow"/> gives it, remembering the last result in <paramref name="cache"/>: once it has
    /// underflowed to 0 for some <c>t</c> it is 0 for every larger <c>t</c> (0 ≤ β &lt; 1), which skips the C library's slow
    /// underflow path (β₁ = 0.9 underflows after ≈ 7,000 steps, and every step after that paid it). Bit for bit
    /// <c>Math.Pow(beta, step)</c>.
    /// </summary>
    /// <param name="beta">β in [0, 1).</param>
    /// <param name="step">t ≥ 1.</param>
    /// <param name="cache">The last (β, t, βᵗ) computed; updated.</param>
    public static double BiasPower(float beta, long step, ref (float Beta, long Step, double Power) cache)
    {
        if (cache.Power == 0 && cache.Beta == beta && step >= cache.Step && cache.Step > 0 && beta >= 0f && beta < 1f)
        {
            return 0;
        }
        double power = Math.Pow(beta, step);
        cache = (beta, step, power);
        return power;
    }

    /// <summary>
    /// One SGD step (PyTorch: <c>torch.optim.SGD</c>): <c>d ← grad + wd·p</c>; with momentum μ,
    /// <c>buf ← d</c> on the first step, else <c>buf ← μ·buf + (1 − dampening)·d</c>, and
    /// <c>d ← nesterov ? d + μ·buf : buf</c>; then <c>p ← p − lr·d</c>.
    /// </summary>
    /// <param name="p">Parameters, updated in place.</param>
    /// <param name="grad">Gradients, same length.</param>
    /// <param name="buf">Momentum buffer (<c>momentum_buffer</c>), updated; ignored when <paramref name="momentum"/> is 0.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="momentum">μ.</param>
    /// <param name="dampening">Dampening.</param>
    /// <param name="weightDecay">L2 weight decay.</param>
    /// <param name="nesterov">Nesterov momentum.</param>
    /// <param name="firstStep">Whether the buffer is initialised by this step.</param>
    /// <remarks>Threaded as <see cref="AdamCorrected"/>.</remarks>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void Sgd(Span<float> p, ReadOnlySpan<float> grad, Span<float> buf,
        float lr, float momentum, float dampening, float weightDecay, bool nesterov, bool firstStep) =>
        SgdOn(p, grad, buf, lr, momentum, dampening, weightDecay, nesterov, firstStep, threads: 0);

    /// <summary><see cref="Sgd"/> on
    /// <paramref name="threads"/> threads (0: <see cref="ThreadsFor"/>).</summary>
    internal static unsafe void SgdOn(Span<float> p, ReadOnlySpan<float> grad, Span<float> buf,
        float lr, float momentum, float dampening, float weightDecay, bool nesterov, bool firstStep, int threads)
    {
        int n = p.Length;
        if (grad.Length != n || (momentum != 0f && buf.Length != n))
        {
            throw new ArgumentException($"SGD spans differ in length: p {n}, grad {grad.Length}, buf {buf.Length}.");
        }
        int workers = threads > 0 ? Math.Min(threads, ChunksOf(n)) : ThreadsFor(n);
        if (workers > 1)
        {
            fixed (float* pp = p, gp = grad, bp = buf)
            {
                var args = new JobArgs
                {
                    Kind = JobKind.Sgd, N = n, P = pp, G = gp, M = momentum != 0f ? bp : null, Lr = lr, Beta1 = momentum,
                    Beta2 = dampening, WeightDecay = weightDecay, Flag1 = nesterov, Flag2 = firstStep,
                };
                if (TryRunThreaded(in args, workers))
                {
                    return;
                }
            }
        }
        SgdChunk(p, grad, buf, lr, momentum, dampening, weightDecay, nesterov, firstStep);
    }

    /// <summary>The SGD update of one block on the calling thread (lengths checked by the caller).</summary>
    private static void SgdChunk(Span<float> p, ReadOnlySpan<float> grad, Span<float> buf,
        float lr, float momentum, float dampening, float weightDecay, bool nesterov, bool firstStep)
    {
        int n = p.Length;
        ref float pp = ref MemoryMarshal.GetReference(p);
        ref float gp = ref MemoryMarshal.GetReference(grad);
        ref float bp = ref MemoryMarshal.GetReference(buf);
        float keep = 1f - dampening;
        bool hasMomentum = momentum != 0f;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vwd = Vector256.Create(weightDecay); var vmom = Vector256.Create(momentum);
            var vkeep = Vector256.Create(keep); var vlr = Vector256.Create(lr);
            for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count)
            {
                var pv = Vector256.LoadUnsafe(ref pp, (nuint)i);
                var d = Vector256.LoadUnsafe(ref gp, (nuint)i) + vwd * pv;
                if (hasMomentum)
                {
                    var b = firstStep ? d : vmom * Vector256.LoadUnsafe(ref bp, (nuint)i) + vkeep * d;
                    b.StoreUnsafe(ref bp, (nuint)i);
                    d = nesterov ? d + vmom * b : b;
                }
                (pv - vlr * d).StoreUnsafe(ref pp, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float d = Unsafe.Add(ref gp, i) + weightDecay * Unsafe.Add(ref pp, i);
            if (hasMomentum)
            {
                float b = firstStep ? d : momentum * Unsafe.Add(ref bp, i) + keep * d;
                Unsafe.Add(ref bp, i) = b;
                d = nesterov ? d + momentum * b : b;
            }
            Unsafe.Add(ref pp, i) -= lr * d;
        }
    }

    /// <summary>
    /// Sets every value of <paramref name="values"/> to 0 (PyTorch: <c>optimizer.zero_grad(set_to_none=False)</c>); a block of
    /// at least <see cref="MinZeroElementsPerThread"/> values per thread is cleared on up to <see cref="Threads.Count"/> threads.
    /// </summary>
    public static void Zero(Span<float> values) => ZeroOn(values, threads: 0);

    /// <summary><see cref="Zero"/> on <paramref name="threads"/> threads (0: <see cref="ThreadsFor"/>).</summary>
    internal static unsafe void ZeroOn(Span<float> values, int threads)
    {
        int n = values.Length;
        int workers = threads > 0 ? Math.Min(threads, ChunksOf(n)) : ThreadsFor(n, MinZeroElementsPerThread);
        if (workers > 1)
        {
            fixed (float* pp = values)
            {
                var args = new JobArgs { Kind = JobKind.Zero, N = n, P = pp };
                if (TryRunThreaded(in args, workers))
                {
                    return;
                }
            }
        }
        values.Clear();
    }

    // ---- Threads ----

    /// <summary>
    /// The fewest values per thread worth a thread in an optimizer step (Adam: a division and a square root per value; SGD
    /// with momentum: 5 floats moved per value). Measured (<c>--optim</c> of tests/CompiledNets.Benchmarks, 1 thread vs 2
    /// interleaved, Zen 5, 2 cores): Adam over 64 K values runs 1.5–1.8× faster on 2 threads, over 32 K 1.5–1.6×, SGD with
    /// momentum 1.4× and 1.1–1.3×; a model below 64 K parameters (the digits net has 17 K) stays on one thread.
    /// </summary>
    internal const int MinElementsPerThread = 32 * 1024;

    /// <summary>
    /// The fewest values per thread worth a thread in <see cref="Zero"/> (a store only: memory-bound from the start). Measured
    /// as <see cref="MinElementsPerThread"/>: 2 threads are 0.8–1.0× one at 32–64 K values, 0.8–1.2× at 128 K, 0.9–1.3× at
    /// 256 K and 1.2–1.3× at 1.86 M.
    /// </summary>
    internal const int MinZeroElementsPerThread = 128 * 1024;

    /// <summary>
    /// The unit of work a thread claims: a multiple of every vector width, so that a value goes through the same (vector
    /// or scalar) operations whichever thread updates it and however many there are: the result is bitwise the same.
    /// </summary>
    internal const int ChunkLength = 16 * 1024;

    /// <summary>How many threads a block of <paramref name="n"/> values uses: <see cref="Threads.Count"/>, fewer when a thread
    /// would get less than <paramref name="minPerThread"/> values.</summary>
    internal static int ThreadsFor(int n, int minPerThread = MinElementsPerThread)
    {
        int count = Math.Min(Threads.Count, ThreadLimit);
        return count <= 1 ? 1 : Math.Clamp(n / minPerThread, 1, count);
    }

    /// <summary>At most this many threads for the optimizer kernels whatever <see cref="Threads.Count"/> (a measurement switch:
    /// the benchmarks set 1 to time the one-thread step against the threaded one in the same process).</summary>
    internal static int ThreadLimit = WorkerPool.MaxThreads;

    private static int ChunksOf(int n) => (int)(((long)n + ChunkLength - 1) / ChunkLength);

    private enum JobKind
    {
        Adam,
        Sgd,
        Zero,
    }

    /// <summary>The arguments of one threaded update (for SGD: <c>M</c> the momentum buffer, <c>Beta1</c> μ, <c>Beta2</c> dampening).</summary>
    private unsafe struct JobArgs
    {
        public JobKind Kind;
        public int N;
        public float* P, G, M, V;
        public float Lr, Beta1, Beta2, Eps, WeightDecay;
        public double Bc1, Bc2;
        public bool Flag1, Flag2;
    }

    private sealed unsafe class Job : ParallelJob
    {
        public JobArgs Args;
        public int Chunks, Next, Done;

        public override void Execute(int worker, int workers)
        {
            int chunks = Chunks;
            int c;
            while ((c = Interlocked.Increment(ref Next) - 1) < chunks)
            {
                int start = c * ChunkLength;
                Run(in Args, start, Math.Min(ChunkLength, Args.N - start));
                WorkerPool.Done(ref Done);
            }
            if (worker == 0)
            {
                WorkerPool.WaitAtLeast(ref Done, chunks); // the pool's contract: worker 0 returns when all is done
            }
        }

        private static void Run(in JobArgs a, int start, int length)
        {
            var p = new Span<float>(a.P + start, length);
            switch (a.Kind)
            {
                case JobKind.Adam:
                    AdamChunk(p, new ReadOnlySpan<float>(a.G + start, length), new Span<float>(a.M + start, length),
                        new Span<float>(a.V + start, length), a.Lr, a.Beta1, a.Beta2, a.Eps, a.WeightDecay, a.Bc1, a.Bc2, a.Flag1);
                    break;
                case JobKind.Sgd:
                    SgdChunk(p, new ReadOnlySpan<float>(a.G + start, length), a.M == null ? default : new Span<float>(a.M + start, length),
                        a.Lr, a.Beta1, a.Beta2, a.WeightDecay, a.Flag1, a.Flag2);
                    break;
                default:
                    p.Clear();
                    break;
            }
        }
    }

    private static readonly JobPair<Job> s_jobs = new();

    /// <summary>Runs <paramref name="args"/> on <paramref name="workers"/> threads; <see langword="false"/> (nothing done) when
    /// another caller holds the worker pool.</summary>
    private static bool TryRunThreaded(in JobArgs args, int workers)
    {
        if (!WorkerPool.TryEnter())
        {
            return false;
        }
        try
        {
            Job job = s_jobs.Take();
            job.Args = args;
            job.Chunks = ChunksOf(args.N);
            job.Next = job.Done = 0;
            WorkerPool.RunEntered(job, workers);
        }
        finally
        {
            WorkerPool.Exit();
        }
        return true;
    }
}
