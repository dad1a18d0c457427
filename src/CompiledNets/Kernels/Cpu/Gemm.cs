using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CompiledNets.Kernels.Cpu;

/// <summary>
/// A packed, cache-blocked single-precision GEMM (GotoBLAS/BLIS style) for the three products of
/// <c>nn.Linear</c>: <c>C (=|+=) A·B</c> with <c>C</c> row-major and <c>A</c>, <c>B</c> given by row and column
/// strides, so that the transposes are handled by the packing and one micro-kernel serves every layout.
/// </summary>
/// <remarks>
/// <para>Loops, outermost first: columns of <c>B</c> in blocks of <see cref="NC"/>; depth in equal blocks of at most
/// <see cref="KC"/> (<see cref="DepthBlock"/>), for which a <c>KC×NC</c> block of <c>B</c> is packed into micro-panels of
/// <c>KC×NR</c> (≤ 512 KiB, stays in L2); rows of <c>A</c> in slivers of <c>MR</c>, each packed into
/// <c>KC×MR</c> (≤ 8 KiB, stays in L1); then one <c>MR×NR</c> micro-kernel call per micro-panel of B, which
/// keeps its tile of <c>C</c> in registers for the whole depth block.</para>
/// <para>Micro-kernel: 8×32 with Vector512 (16 accumulators) where <see cref="Vector512.IsHardwareAccelerated"/>,
/// else 6×16 with Vector256 (12 accumulators). Edges are zero-padded in the packed buffers; partial tiles of
/// <c>C</c> go through a small tile on the stack. Bias and ReLU are applied as the tile is stored (bias in the
/// first depth block, ReLU in the last); the tile's rows of <c>C</c> are prefetched before the depth loop.</para>
/// <para>Packing: dense rows are copied by vectors; transposed operands (the forward's <c>x</c> and <c>wᵀ</c>, the input
/// gradient's <c>dy</c>) go through 8×8 AVX register transposes (<see cref="Transpose8x8"/>), scalar only at edges.</para>
/// <para>Packing buffers are allocated once per thread (pinned, 64-byte aligned) and reused, so a call does not
/// allocate after the first on a thread. Large products run on several threads (<see cref="Threads"/>) that share
/// the packed block of B and split the tiles of C, with bitwise the same result for any thread count.</para>
/// </remarks>
internal static unsafe class Gemm
{
    /// <summary>Whether the vectorised GEMM is available (Vector256 or Vector512 hardware acceleration).</summary>
    public static bool IsSupported => Vector256.IsHardwareAccelerated;

    private static readonly bool Use512 = Vector512.IsHardwareAccelerated;

    /// <summary>Rows of the micro-kernel tile.</summary>
    internal static readonly int MR = Use512 ? 8 : 6;

    /// <summary>Columns of the micro-kernel tile (two vectors).</summary>
    internal static readonly int NR = Use512 ? 32 : 16;

    /// <summary>Largest depth block.</summary>
    internal const int KC = 256;

    /// <summary>
    /// The depth block for a depth of <paramref name="k"/>: <c>k</c> split into ⌈k / KC⌉ blocks of equal size (the last
    /// may be shorter), so that no block is a thin remainder (784 = 4 × 196, not 3 × 256 + 16: a 16-deep block
    /// loads and stores its tiles of C as often as a 256-deep one for a sixteenth of the work). Depends on <c>k</c> only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int DepthBlock(int k)
    {
        int blocks = (k + KC - 1) / KC;
        return (k + blocks - 1) / blocks;
    }

    /// <summary>Column block (a multiple of both NRs).</summary>
    internal const int NC = 512;

    private const int MaxMR = 8;

    [ThreadStatic] private static float[]? s_buffer;
    [ThreadStatic] private static int s_offset;

    /// <summary><c>y = x·wᵀ (+ b) (then ReLU)</c>: <c>x [m, k]</c>, <c>w [n, k]</c>, <c>y [m, n]</c> overwritten.</summary>
    /// <remarks>These three return the number of threads used; <c>threads</c> 0 lets <see cref="ThreadsFor"/> choose.
    /// <c>packedW</c>: <c>w</c> already packed by <see cref="PackAllB"/> (<see cref="PackedWeightCache"/>).</remarks>
    public static int Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y,
        int batch, int inFeatures, int outFeatures, bool relu, int threads = 0, nint packedW = 0)
    {
        fixed (float* xp = x, wp = w, bp = b, yp = y)
        {
            return Multiply(xp, inFeatures, 1, wp, 1, inFeatures, yp, batch, outFeatures, inFeatures,
                accumulate: false, b.Length != 0 ? bp : null, relu, (float*)packedW, threads);
        }
    }

    /// <summary><c>dx = dy·w</c>: <c>dy [m, k]</c>, <c>w [k, n]</c>, <c>dx [m, n]</c> overwritten.</summary>
    public static int BackwardInput(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx,
        int batch, int inFeatures, int outFeatures, int threads = 0)
    {
        fixed (float* dyp = dy, wp = w, dxp = dx)
        {
            return Multiply(dyp, outFeatures, 1, wp, inFeatures, 1, dxp, batch, inFeatures, outFeatures,
                accumulate: false, null, relu: false, threads: threads);
        }
    }

    /// <summary><c>dw += dyᵀ·x</c>: <c>dy [k, m]</c>, <c>x [k, n]</c>, <c>dw [m, n]</c> added to.</summary>
    public static int BackwardWeight(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw,
        int batch, int inFeatures, int outFeatures, int threads = 0)
    {
        fixed (float* dyp = dy, xp = x, dwp = dw)
        {
            return Multiply(dyp, 1, outFeatures, xp, inFeatures, 1, dwp, outFeatures, inFeatures, batch,
                accumulate: true, null, relu: false, threads: threads);
        }
    }

    /// <summary>
    /// <c>C[i, j] (=|+=) Σₚ A(i, p)·B(p, j) (+ bias[j])</c>, then <c>max(·, 0)</c> when <paramref name="relu"/>;
    /// <c>A(i, p) = a[i·rsA + p·csA]</c>, <c>B(p, j) = b[p·rsB + j·csB]</c>, <c>C</c> row-major <c>[m, n]</c>.
    /// </summary>
    /// <remarks>
    /// <para>Requires <c>m, n ≥ 1</c>; with <c>k = 0</c> C becomes the bias (or 0), or stays when accumulating.</para>
    /// <para>With <paramref name="packedB"/> (from <see cref="PackAllB"/> of the same <c>B</c>), B is not packed again.</para>
    /// <para>Runs on up to <see cref="Threads.Count"/> threads (see <see cref="ThreadsFor"/>); the result is bitwise the
    /// same for any count: the blocking does not depend on it, and every tile of C is computed by one micro-kernel
    /// call per depth block, in depth order, from the same packed values, whichever thread makes the call.</para>
    /// </remarks>
    /// <returns>The number of threads that computed the product.</returns>
    public static int Multiply(float* a, int rsA, int csA, float* b, int rsB, int csB, float* c,
        int m, int n, int k, bool accumulate, float* bias, bool relu, float* packedB = null, int threads = 0)
    {
        if (m <= 0 || n <= 0)
        {
            return 1;
        }
        if (k <= 0)
        {
            EpilogueOnly(c, m, n, accumulate, bias, relu);
            return 1;
        }
        var args = new Args
        {
            A = a, RsA = rsA, CsA = csA, B = b, RsB = rsB, CsB = csB, C = c, M = m, N = n, K = k,
            Accumulate = accumulate, Bias = bias, Relu = relu, PackedB = packedB,
        };
        int workers = threads > 0 ? threads : ThreadsFor(m, n, k);
        if (workers > 1 && WorkerPool.TryEnter())
        {
            try
            {
                args.SharedB = Buffer(out _);
                Job job = s_jobs.Take();
                job.Args = args;
                job.Reset();
                WorkerPool.RunEntered(job, workers);
            }
            finally
            {
                WorkerPool.Exit();
            }
            return workers;
        }
        args.SharedB = Buffer(out _);
        Share(in args);
        return 1;
    }

    /// <summary>
    /// How many threads a product of <c>m·n·k</c> multiply-adds uses: <see cref="Threads.Count"/>, fewer when a
    /// thread would get less than <see cref="Threads.MinMultiplyAddsPerThread"/>.
    /// </summary>
    internal static int ThreadsFor(int m, int n, int k)
    {
        int count = Threads.Count;
        if (count <= 1)
        {
            return 1;
        }
        long work = (long)m * n * k / Threads.MinMultiplyAddsPerThread;
        return (int)Math.Clamp(work, 1, count);
    }

    /// <summary>The arguments of one product, shared by the threads that compute it.</summary>
    private struct Args
    {
        public float* A, B, C, Bias, PackedB, SharedB;
        public int RsA, CsA, RsB, CsB, M, N, K;
        public bool Accumulate, Relu;
    }

    private sealed class Job : ParallelJob
    {
        public Args Args;

        // Work counters of the running product, cumulative over its blocks: units claimed and units done, for the
        // packing of B (micro-panels) and for the tiles of C (slivers of rows, or micro-panels).
        public int PackNext, PackDone, TileNext, TileDone;

        public void Reset() => PackNext = PackDone = TileNext = TileDone = 0;

        public override void Execute(int worker, int workers) => ShareDynamic(this, worker, workers);
    }

    // Used only while holding the worker pool (one product at a time).
    private static readonly JobPair<Job> s_jobs = new();

    /// <summary>
    /// The product on the calling thread alone (<see cref="ShareDynamic"/> runs the threaded ones): for each block of
    /// B, its packing into this thread's buffer, then every tile of C, sliver of rows by sliver.
    /// </summary>
    private static void Share(in Args g)
    {
        Buffer(out float* ap);
        float* tile = ap + KC * MaxMR;
        int mr = MR, nr = NR;
        int m = g.M, n = g.N, k = g.K;
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            int panels = (nc + nr - 1) / nr;
            for (int pc = 0, kcMax = DepthBlock(k); pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                bool first = pc == 0, last = pc + kc == k;
                float* bp;
                if (g.PackedB != null)
                {
                    bp = g.PackedB + (long)jc * k + (long)pc * panels * nr;
                }
                else
                {
                    bp = g.SharedB;
                    PackB(g.B + (long)pc * g.RsB + (long)jc * g.CsB, g.RsB, g.CsB, kc, nc, bp);
                }
                float* biasBlock = first && g.Bias != null ? g.Bias + jc : null;
                bool load = g.Accumulate || !first;
                for (int ic = 0; ic < m; ic += mr)
                {
                    int mb = Math.Min(mr, m - ic);
                    PackA(g.A + (long)ic * g.RsA + (long)pc * g.CsA, g.RsA, g.CsA, mb, kc, ap);
                    float* cRow = g.C + (long)ic * n + jc;
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int nb = Math.Min(nr, nc - jr);
                        float* bPanel = bp + (long)jr * kc;
                        float* biasTile = biasBlock != null ? biasBlock + jr : null;
                        if (Use512)
                        {
                            Kernel8x32(kc, ap, bPanel, cRow + jr, n, mb, nb, load, biasTile, g.Relu && last, tile);
                        }
                        else
                        {
                            Kernel6x16(kc, ap, bPanel, cRow + jr, n, mb, nb, load, biasTile, g.Relu && last, tile);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// A thread's part of a threaded product. The same blocks, packing and tiles as <see cref="Share"/>, but the
    /// units of work (micro-panels to pack, tiles to compute) are claimed one at a time from shared counters, so a
    /// thread that the operating system holds back delays the others by one unit, not by a fixed share. Order:
    /// block <c>b</c> is packed into buffer <c>b mod 2</c> once block <c>b − 2</c> is fully computed; its tiles
    /// are computed once it is fully packed. Each tile is still one micro-kernel call per block, in block order, from
    /// the same packed values: the result does not depend on which thread computes what.
    /// </summary>
    private static void ShareDynamic(Job job, int worker, int workers)
    {
        ref Args g = ref job.Args;
        Buffer(out float* ap);
        float* tile = ap + KC * MaxMR;
        int mr = MR, nr = NR;
        int m = g.M, n = g.N, k = g.K;
        int slivers = (m + mr - 1) / mr;
        bool byRows = slivers >= 2 * workers;
        int packEnd = 0, tileEnd = 0, tileEndTwoBack = 0, tileEndOneBack = 0, block = 0;
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            int panels = (nc + nr - 1) / nr;
            for (int pc = 0, kcMax = DepthBlock(k); pc < k; pc += kcMax, block++)
            {
                int kc = Math.Min(kcMax, k - pc);
                bool first = pc == 0, last = pc + kc == k;
                float* bp;
                if (g.PackedB != null)
                {
                    bp = g.PackedB + (long)jc * k + (long)pc * panels * nr;
                }
                else
                {
                    bp = g.SharedB + (block & 1) * (KC * NC);
                    // This buffer held block − 2: wait until all its tiles are done.
                    WorkerPool.WaitAtLeast(ref job.TileDone, tileEndTwoBack);
                    int packStart = packEnd;
                    packEnd += panels;
                    for (int u; (u = Claim(ref job.PackNext, packEnd)) >= 0;)
                    {
                        int q = u - packStart;
                        PackB(g.B + (long)pc * g.RsB + (long)(jc + q * nr) * g.CsB, g.RsB, g.CsB, kc,
                            Math.Min(nr, nc - q * nr), bp + (long)q * nr * kc);
                        WorkerPool.Done(ref job.PackDone);
                    }
                    WorkerPool.WaitAtLeast(ref job.PackDone, packEnd);
                }
                float* biasBlock = first && g.Bias != null ? g.Bias + jc : null;
                bool load = g.Accumulate || !first;
                bool relu = g.Relu && last;
                // The previous block's tiles may be the ones this block adds to: all must be done first (its
                // packing above could overlap with their tail).
                WorkerPool.WaitAtLeast(ref job.TileDone, tileEndOneBack);
                int tileStart = tileEnd;
                tileEnd += byRows ? slivers : panels;
                for (int u; (u = Claim(ref job.TileNext, tileEnd)) >= 0;)
                {
                    int unit = u - tileStart;
                    int s0 = byRows ? unit : 0, s1 = byRows ? unit + 1 : slivers;
                    int q0 = byRows ? 0 : unit, q1 = byRows ? panels : unit + 1;
                    for (int sl = s0; sl < s1; sl++)
                    {
                        int ic = sl * mr;
                        int mb = Math.Min(mr, m - ic);
                        PackA(g.A + (long)ic * g.RsA + (long)pc * g.CsA, g.RsA, g.CsA, mb, kc, ap);
                        float* cRow = g.C + (long)ic * n + jc;
                        for (int q = q0; q < q1; q++)
                        {
                            int jr = q * nr;
                            int nb = Math.Min(nr, nc - jr);
                            float* biasTile = biasBlock != null ? biasBlock + jr : null;
                            if (Use512)
                            {
                                Kernel8x32(kc, ap, bp + (long)jr * kc, cRow + jr, n, mb, nb, load, biasTile, relu, tile);
                            }
                            else
                            {
                                Kernel6x16(kc, ap, bp + (long)jr * kc, cRow + jr, n, mb, nb, load, biasTile, relu, tile);
                            }
                        }
                    }
                    WorkerPool.Done(ref job.TileDone);
                }
                tileEndTwoBack = tileEndOneBack;
                tileEndOneBack = tileEnd;
            }
        }
        if (worker == 0)
        {
            WorkerPool.WaitAtLeast(ref job.TileDone, tileEnd); // the pool's contract: worker 0 returns when all is done
        }
    }

    /// <summary>Claims the next unit below <paramref name="end"/> from <paramref name="next"/>; −1 when none is left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Claim(ref int next, int end)
    {
        while (true)
        {
            int u = Volatile.Read(ref next);
            if (u >= end)
            {
                return -1;
            }
            if (Interlocked.CompareExchange(ref next, u + 1, u) == u)
            {
                return u;
            }
        }
    }

    /// <summary>Floats that <see cref="PackAllB"/> writes for a <c>k×n</c> B.</summary>
    internal static long PackedSize(int k, int n) => (long)k * ((n + NR - 1) / NR * NR);

    /// <summary>
    /// Packs all of <c>B</c> (<c>k×n</c>, strides as in <see cref="Multiply"/>) the way <see cref="Multiply"/> packs it
    /// block by block: block <c>(jc, pc)</c> at <c>jc·k + pc·ncPadded</c>, so a B that does not change (a weight at
    /// inference) is packed once.
    /// </summary>
    internal static void PackAllB(float* b, int rsB, int csB, int k, int n, float* dst)
    {
        int nr = NR;
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            int ncPadded = (nc + nr - 1) / nr * nr;
            for (int pc = 0, kcMax = DepthBlock(k); pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                PackB(b + (long)pc * rsB + (long)jc * csB, rsB, csB, kc, nc, dst + (long)jc * k + (long)pc * ncPadded);
            }
        }
    }

    /// <summary>The packing buffers of this thread: two B blocks (returned; alternate blocks use alternate halves) and the A sliver.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* Buffer(out float* ap)
    {
        float[]? buffer = s_buffer;
        if (buffer == null)
        {
            buffer = Allocate();
        }
        // Pinned (never moves): taking the address without fixed is safe.
        float* bp = (float*)Unsafe.AsPointer(ref buffer[s_offset]);
        ap = bp + 2 * KC * NC;
        return bp;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float[] Allocate()
    {
        var buffer = GC.AllocateUninitializedArray<float>(2 * KC * NC + KC * MaxMR + MaxMR * 32 + 16, pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref buffer[0]);
        s_offset = (int)((64 - (address & 63)) & 63) / sizeof(float);
        s_buffer = buffer;
        return buffer;
    }

    /// <summary>Packs <c>B(0..kc, 0..nc)</c> into micro-panels of <c>kc×NR</c>, zero-padding the last.</summary>
    internal static void PackB(float* b, int rsB, int csB, int kc, int nc, float* dst)
    {
        int nr = NR;
        for (int jr = 0; jr < nc; jr += nr)
        {
            int nb = Math.Min(nr, nc - jr);
            float* src = b + (long)jr * csB;
            float* d = dst + (long)jr * kc;
            if (csB == 1)
            {
                if (nb == nr)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        CopyPanelRow(src + (long)p * rsB, d + p * nr);
                    }
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                    {
                        float* s = src + (long)p * rsB;
                        float* dd = d + p * nr;
                        int j = 0;
                        for (; j < nb; j++)
                        {
                            dd[j] = s[j];
                        }
                        for (; j < nr; j++)
                        {
                            dd[j] = 0f;
                        }
                    }
                }
            }
            else
            {
                // Transposed source: column j of B is contiguous (stride rsB). Where it is dense (rsB = 1, the forward's
                // wᵀ), whole 8×8 blocks go through registers (Transpose8x8); the rest, element by element, reading 16
                // floats (a cache line) along each column and writing them across 16 rows of the panel.
                int jv = 0, pv = 0;
                if (rsB == 1 && CanTranspose)
                {
                    jv = nb & ~7;
                    pv = kc & ~7;
                    // Eight source rows at a time along the whole depth: with a row stride of 4 KiB (1024 inputs) more
                    // rows than the L1's ways would map to one set.
                    for (int j0 = 0; j0 < jv; j0 += 8)
                    {
                        float* s0 = src + (long)j0 * csB;
                        for (int p0 = 0; p0 < pv; p0 += 8)
                        {
                            Transpose8x8(s0 + p0, csB, d + p0 * nr + j0, nr);
                        }
                    }
                    // Columns jv..nb (all depths), then the last depths pv..kc of columns 0..jv.
                    PackBTransposedScalar(src, rsB, csB, 0, kc, jv, nb, d, nr);
                    PackBTransposedScalar(src, rsB, csB, pv, kc, 0, jv, d, nr);
                }
                else
                {
                    PackBTransposedScalar(src, rsB, csB, 0, kc, 0, nb, d, nr);
                }
                for (int j = nb; j < nr; j++)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        d[p * nr + j] = 0f;
                    }
                }
            }
        }
    }

    /// <summary>Transposed packing, element by element: <c>d[p·nr + j] = B(p, j)</c> for <c>p ∈ [p0, p1)</c>, <c>j ∈ [j0, j1)</c>.</summary>
    private static void PackBTransposedScalar(float* src, int rsB, int csB, int p0, int p1, int j0, int j1, float* d, int nr)
    {
        for (int pb = p0; pb < p1; pb += 16)
        {
            int pe = Math.Min(16, p1 - pb);
            for (int j = j0; j < j1; j++)
            {
                float* s = src + (long)j * csB + (long)pb * rsB;
                float* dd = d + pb * nr + j;
                if (rsB == 1)
                {
                    for (int p = 0; p < pe; p++)
                    {
                        dd[p * nr] = s[p];
                    }
                }
                else
                {
                    for (int p = 0; p < pe; p++)
                    {
                        dd[p * nr] = s[(long)p * rsB];
                    }
                }
            }
        }
    }

    /// <summary>Whether <see cref="Transpose8x8"/> runs here (AVX).</summary>
    private static bool CanTranspose => Avx.IsSupported;

    /// <summary>
    /// <c>dst[c·ds + r] = src[r·ss + c]</c> for <c>r, c ∈ [0, 8)</c>: an 8×8 block transposed in registers (the usual
    /// AVX sequence: unpack pairs of rows, shuffle pairs of pairs, swap 128-bit halves; 8 loads, 24 shuffles, 8 stores).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8x8(float* src, long ss, float* dst, long ds)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + ss),
            r2 = Avx.LoadVector256(src + 2 * ss), r3 = Avx.LoadVector256(src + 3 * ss),
            r4 = Avx.LoadVector256(src + 4 * ss), r5 = Avx.LoadVector256(src + 5 * ss),
            r6 = Avx.LoadVector256(src + 6 * ss), r7 = Avx.LoadVector256(src + 7 * ss);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1),
            t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3),
            t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5),
            t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE),
            s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE),
            s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE),
            s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + ds, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 2 * ds, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 3 * ds, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 4 * ds, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 5 * ds, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 6 * ds, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 7 * ds, Avx.Permute2x128(s3, s7, 0x31));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPanelRow(float* s, float* d)
    {
        if (Use512)
        {
            Vector512.Store(Vector512.Load(s), d);
            Vector512.Store(Vector512.Load(s + 16), d + 16);
        }
        else
        {
            Vector256.Store(Vector256.Load(s), d);
            Vector256.Store(Vector256.Load(s + 8), d + 8);
        }
    }

    /// <summary>Packs <c>A(0..mb, 0..kc)</c> into <c>kc×MR</c> (column <c>p</c> of the sliver contiguous), zero-padding rows.</summary>
    internal static void PackA(float* a, int rsA, int csA, int mb, int kc, float* dst)
    {
        int mr = MR;
        if (rsA == 1 && mb == 8 && mr == 8 && CanTranspose)
        {
            // Dense columns of 8 (the weight gradient's dyᵀ): one vector per depth.
            for (int p = 0; p < kc; p++)
            {
                Avx.Store(dst + p * 8, Avx.LoadVector256(a + (long)p * csA));
            }
        }
        else if (rsA == 1)
        {
            for (int p = 0; p < kc; p++)
            {
                float* s = a + (long)p * csA;
                float* d = dst + p * mr;
                int i = 0;
                for (; i < mb; i++)
                {
                    d[i] = s[i];
                }
                for (; i < mr; i++)
                {
                    d[i] = 0f;
                }
            }
        }
        else
        {
            int pv = 0;
            if (csA == 1 && mb == 8 && mr == 8 && CanTranspose)
            {
                // Dense rows (the forward's x, the input gradient's dy): 8×8 blocks through registers.
                pv = kc & ~7;
                for (int p0 = 0; p0 < pv; p0 += 8)
                {
                    Transpose8x8(a + p0, rsA, dst + p0 * 8, 8);
                }
            }
            for (int i = 0; i < mb; i++)
            {
                float* s = a + (long)i * rsA;
                float* d = dst + i;
                if (csA == 1)
                {
                    for (int p = pv; p < kc; p++)
                    {
                        d[p * mr] = s[p];
                    }
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                    {
                        d[p * mr] = s[(long)p * csA];
                    }
                }
            }
            for (int i = mb; i < mr; i++)
            {
                for (int p = 0; p < kc; p++)
                {
                    dst[p * mr + i] = 0f;
                }
            }
        }
    }

    internal static void Kernel8x32(int kc, float* ap, float* bp, float* c, int ldc, int mb, int nb,
        bool load, float* bias, bool relu, float* t)
    {
        Vector512<float> c00 = Vector512<float>.Zero, c01 = c00, c10 = c00, c11 = c00,
            c20 = c00, c21 = c00, c30 = c00, c31 = c00,
            c40 = c00, c41 = c00, c50 = c00, c51 = c00,
            c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        PrefetchTile(c, ldc, mb, 32);
        do
        {
            var b0 = Vector512.Load(bp);
            var b1 = Vector512.Load(bp + 16);
            var a = Vector512.Create(ap[0]);
            c00 = Vector512.FusedMultiplyAdd(a, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(a, b1, c01);
            a = Vector512.Create(ap[1]);
            c10 = Vector512.FusedMultiplyAdd(a, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(a, b1, c11);
            a = Vector512.Create(ap[2]);
            c20 = Vector512.FusedMultiplyAdd(a, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(a, b1, c21);
            a = Vector512.Create(ap[3]);
            c30 = Vector512.FusedMultiplyAdd(a, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(a, b1, c31);
            a = Vector512.Create(ap[4]);
            c40 = Vector512.FusedMultiplyAdd(a, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(a, b1, c41);
            a = Vector512.Create(ap[5]);
            c50 = Vector512.FusedMultiplyAdd(a, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(a, b1, c51);
            a = Vector512.Create(ap[6]);
            c60 = Vector512.FusedMultiplyAdd(a, b0, c60);
            c61 = Vector512.FusedMultiplyAdd(a, b1, c61);
            a = Vector512.Create(ap[7]);
            c70 = Vector512.FusedMultiplyAdd(a, b0, c70);
            c71 = Vector512.FusedMultiplyAdd(a, b1, c71);
            ap += 8;
            bp += 32;
        }
        while (--kc != 0);
        if (mb == 8 && nb == 32)
        {
            Vector512<float> bias0 = Vector512<float>.Zero, bias1 = bias0;
            bool hasBias = bias != null;
            if (hasBias)
            {
                bias0 = Vector512.Load(bias);
                bias1 = Vector512.Load(bias + 16);
            }
            StoreRow(c, c00, c01, load, hasBias, bias0, bias1, relu);
            StoreRow(c + ldc, c10, c11, load, hasBias, bias0, bias1, relu);
            StoreRow(c + 2 * ldc, c20, c21, load, hasBias, bias0, bias1, relu);
            StoreRow(c + 3 * ldc, c30, c31, load, hasBias, bias0, bias1, relu);
            StoreRow(c + 4 * ldc, c40, c41, load, hasBias, bias0, bias1, relu);
            StoreRow(c + 5 * ldc, c50, c51, load, hasBias, bias0, bias1, relu);
            StoreRow(c + 6 * ldc, c60, c61, load, hasBias, bias0, bias1, relu);
            StoreRow(c + 7 * ldc, c70, c71, load, hasBias, bias0, bias1, relu);
        }
        else
        {
            c00.Store(t); c01.Store(t + 16);
            c10.Store(t + 32); c11.Store(t + 48);
            c20.Store(t + 64); c21.Store(t + 80);
            c30.Store(t + 96); c31.Store(t + 112);
            c40.Store(t + 128); c41.Store(t + 144);
            c50.Store(t + 160); c51.Store(t + 176);
            c60.Store(t + 192); c61.Store(t + 208);
            c70.Store(t + 224); c71.Store(t + 240);
            StoreEdge(t, 32, c, ldc, mb, nb, load, bias, relu);
        }
    }

    /// <summary>
    /// Asks for the rows of a tile of C before the depth loop, so that their loads (or the ownership their stores need)
    /// overlap with the loop instead of stalling the store at its end: C of a large product is not in cache (a
    /// 1024×784 weight gradient is 3 MiB).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchTile(float* c, int ldc, int mb, int width)
    {
        if (Sse.IsSupported)
        {
            for (int i = 0; i < mb; i++)
            {
                float* row = c + (long)i * ldc;
                Sse.Prefetch0(row);
                Sse.Prefetch0(row + (width - 1));
                if (width > 16)
                {
                    Sse.Prefetch0(row + 16);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector512<float> r0, Vector512<float> r1, bool load, bool hasBias,
        Vector512<float> bias0, Vector512<float> bias1, bool relu)
    {
        if (load)
        {
            r0 += Vector512.Load(c);
            r1 += Vector512.Load(c + 16);
        }
        if (hasBias)
        {
            r0 += bias0;
            r1 += bias1;
        }
        if (relu)
        {
            r0 = Vector512.Max(r0, Vector512<float>.Zero);
            r1 = Vector512.Max(r1, Vector512<float>.Zero);
        }
        r0.Store(c);
        r1.Store(c + 16);
    }

    private static void Kernel6x16(int kc, float* ap, float* bp, float* c, int ldc, int mb, int nb,
        bool load, float* bias, bool relu, float* t)
    {
        Vector256<float> c00 = Vector256<float>.Zero, c01 = c00, c10 = c00, c11 = c00,
            c20 = c00, c21 = c00, c30 = c00, c31 = c00,
            c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        PrefetchTile(c, ldc, mb, 16);
        do
        {
            var b0 = Vector256.Load(bp);
            var b1 = Vector256.Load(bp + 8);
            var a = Vector256.Create(ap[0]);
            c00 = Vector256.FusedMultiplyAdd(a, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(a, b1, c01);
            a = Vector256.Create(ap[1]);
            c10 = Vector256.FusedMultiplyAdd(a, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(a, b1, c11);
            a = Vector256.Create(ap[2]);
            c20 = Vector256.FusedMultiplyAdd(a, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(a, b1, c21);
            a = Vector256.Create(ap[3]);
            c30 = Vector256.FusedMultiplyAdd(a, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(a, b1, c31);
            a = Vector256.Create(ap[4]);
            c40 = Vector256.FusedMultiplyAdd(a, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(a, b1, c41);
            a = Vector256.Create(ap[5]);
            c50 = Vector256.FusedMultiplyAdd(a, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(a, b1, c51);
            ap += 6;
            bp += 16;
        }
        while (--kc != 0);
        if (mb == 6 && nb == 16)
        {
            Vector256<float> bias0 = Vector256<float>.Zero, bias1 = bias0;
            bool hasBias = bias != null;
            if (hasBias)
            {
                bias0 = Vector256.Load(bias);
                bias1 = Vector256.Load(bias + 8);
            }
            StoreRow(c, c00, c01, load, hasBias, bias0, bias1, relu);
            StoreRow(c + ldc, c10, c11, load, hasBias, bias0, bias1, relu);
            StoreRow(c + 2 * ldc, c20, c21, load, hasBias, bias0, bias1, relu);
            StoreRow(c + 3 * ldc, c30, c31, load, hasBias, bias0, bias1, relu);
            StoreRow(c + 4 * ldc, c40, c41, load, hasBias, bias0, bias1, relu);
            StoreRow(c + 5 * ldc, c50, c51, load, hasBias, bias0, bias1, relu);
        }
        else
        {
            c00.Store(t); c01.Store(t + 8);
            c10.Store(t + 16); c11.Store(t + 24);
            c20.Store(t + 32); c21.Store(t + 40);
            c30.Store(t + 48); c31.Store(t + 56);
            c40.Store(t + 64); c41.Store(t + 72);
            c50.Store(t + 80); c51.Store(t + 88);
            StoreEdge(t, 16, c, ldc, mb, nb, load, bias, relu);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector256<float> r0, Vector256<float> r1, bool load, bool hasBias,
        Vector256<float> bias0, Vector256<float> bias1, bool relu)
    {
        if (load)
        {
            r0 += Vector256.Load(c);
            r1 += Vector256.Load(c + 8);
        }
        if (hasBias)
        {
            r0 += bias0;
            r1 += bias1;
        }
        if (relu)
        {
            r0 = Vector256.Max(r0, Vector256<float>.Zero);
            r1 = Vector256.Max(r1, Vector256<float>.Zero);
        }
        r0.Store(c);
        r1.Store(c + 8);
    }

    /// <summary>Stores the valid <c>mb×nb</c> corner of a register tile spilled to <paramref name="t"/>.</summary>
    private static void StoreEdge(float* t, int ldt, float* c, int ldc, int mb, int nb, bool load, float* bias, bool relu)
    {
        for (int i = 0; i < mb; i++)
        {
            float* cr = c + (long)i * ldc;
            float* tr = t + i * ldt;
            for (int j = 0; j < nb; j++)
            {
                float v = tr[j];
                if (load)
                {
                    v += cr[j];
                }
                if (bias != null)
                {
                    v += bias[j];
                }
                if (relu)
                {
                    v = MathF.Max(v, 0f);
                }
                cr[j] = v;
            }
        }
    }

    private static void EpilogueOnly(float* c, int m, int n, bool accumulate, float* bias, bool relu)
    {
        for (int i = 0; i < m; i++)
        {
            float* cr = c + (long)i * n;
            for (int j = 0; j < n; j++)
            {
                float v = accumulate ? cr[j] : 0f;
                if (bias != null)
                {
                    v += bias[j];
                }
                if (relu)
                {
                    v = MathF.Max(v, 0f);
                }
                cr[j] = v;
            }
        }
    }
}
