using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CompiledNets.Kernels.Cpu;

/// <summary>
/// Inverted dropout (PyTorch: <c>torch.nn.functional.dropout</c>) with its mask drawn from the counter-based
/// <see cref="Philox"/> generator keyed by <see cref="PhiloxKey"/> and the element index, so that the GPU kernel
/// (<c>Kernels.Gpu.DropoutKernels.Forward</c>) draws the bit-identical mask. The backward is
/// <see cref="DropoutKernels.Backward"/> (<c>g = g·mask</c>).
/// </summary>
/// <remarks>
/// Every dropout in the library draws its mask here (or in the bit-identical GPU kernels) with key
/// <c>(generator.NextUInt64(), 0, 0)</c>: the generated models on the CPU and on a device, <see cref="Dropout.Forward"/>
/// and <see cref="F.Dropout"/>. One generator draw per dropout per forward, so a checkpointed generator state
/// resumes exactly.
/// </remarks>
public static class PhiloxDropoutKernels
{
    /// <summary>
    /// For each <c>i</c>: <c>mask[i] = Philox.Uniform(key, i) &lt; p ? 0 : 1/(1 − p)</c> and <c>x[i] *= mask[i]</c>.
    /// </summary>
    /// <param name="x">Values, multiplied in place.</param>
    /// <param name="mask">Receives the mask, same length as <paramref name="x"/>.</param>
    /// <param name="p">Probability of zeroing, in [0, 1].</param>
    /// <param name="key">The stream: seed, stream number (the layer) and step.</param>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    /// <remarks>
    /// With AVX-512, sixteen Philox blocks (64 elements) run at once (<see cref="ForwardAvx512"/>), then with AVX2, eight
    /// (32 elements), one block per 32-bit lane, the 32×32→64-bit products
    /// from <c>vpmuludq</c> on the even and odd lanes; the uniforms <c>(bits ≫ 8)·2⁻²⁴</c> and the comparison with
    /// <paramref name="p"/> are exact, so the mask is bit for bit the scalar one (<see cref="ForwardScalar"/>, tested at
    /// every length edge). The tail (fewer than 32 elements) runs the scalar loop.
    /// </remarks>
    public static void Forward(Span<float> x, Span<float> mask, float p, PhiloxKey key)
    {
        ActivationKernels.CheckSameLength(x, mask);
        CheckProbability(p);
        float scale = Philox.DropoutScale(p);
        int done = Avx512F.IsSupported ? ForwardAvx512(x, mask, p, scale, key) : 0;
        if (Avx2.IsSupported)
        {
            done += ForwardAvx2(x[done..], mask[done..], p, scale, key, blockOffset: done >> 2);
        }
        ForwardScalar(x, mask, p, scale, key, done);
    }

    /// <summary>The scalar loop from element <paramref name="start"/> (a multiple of 4) on: the reference of the vector path.</summary>
    internal static void ForwardScalar(Span<float> x, Span<float> mask, float p, float scale, PhiloxKey key, int start)
    {
        for (; start < x.Length; start += 4)
        {
            PhiloxBlock block = Philox.Generate(key, start >> 2);
            int end = Math.Min(start + 4, x.Length);
            for (int i = start; i < end; i++)
            {
                float m = Philox.DropoutMask(block[i - start], p, scale);
                mask[i] = m;
                x[i] *= m;
            }
        }
    }

    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /// <summary>Whole chunks of 32 elements (8 blocks); returns how many elements it did.</summary>
    internal static int ForwardAvx2(Span<float> x, Span<float> mask, float p, float scale, PhiloxKey key, int maxElements = int.MaxValue, int blockOffset = 0)
    {
        int n = Math.Min(x.Length, maxElements) & ~31;
        if (n == 0)
        {
            return 0;
        }
        var lanes = Vector256.Create(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u);
        var stream = Vector256.Create(key.Stream);
        var stepLo = Vector256.Create((uint)key.Step);
        var stepHi = Vector256.Create((uint)(key.Step >> 32));
        uint seedLo = (uint)key.Seed, seedHi = (uint)(key.Seed >> 32);
        var m0 = Vector256.Create(M0);
        var m1 = Vector256.Create(M1);
        var pv = Vector256.Create(p);
        var sv = Vector256.Create(scale);
        var unit = Vector256.Create(1f / 16777216f);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float mr = ref MemoryMarshal.GetReference(mask);
        for (int start = 0; start < n; start += 32)
        {
            var c0 = Vector256.Create((uint)(blockOffset + (start >> 2))) + lanes;
            Vector256<uint> c1 = stream, c2 = stepLo, c3 = stepHi;
            uint k0 = seedLo, k1 = seedHi;
            for (int round = 0; round < 10; round++)
            {
                if (round > 0)
                {
                    k0 += W0;
                    k1 += W1;
                }
                var (lo0, hi0) = MulWide(c0, m0);
                var (lo1, hi1) = MulWide(c2, m1);
                var n0 = hi1 ^ c1 ^ Vector256.Create(k0);
                var n2 = hi0 ^ c3 ^ Vector256.Create(k1);
                c1 = lo1;
                c3 = lo0;
                c0 = n0;
                c2 = n2;
            }
            // Word w of lane j is element 4j + w of the chunk: masks per word, then a 4×8 transpose into element order.
            var w0 = Mask(c0, pv, sv, unit);
            var w1 = Mask(c1, pv, sv, unit);
            var w2 = Mask(c2, pv, sv, unit);
            var w3 = Mask(c3, pv, sv, unit);
            var t0 = Avx.UnpackLow(w0, w1);   // w0[0] w1[0] w0[1] w1[1] | w0[4] w1[4] w0[5] w1[5]
            var t1 = Avx.UnpackLow(w2, w3);   // w2[0] w3[0] w2[1] w3[1] | …
            var t2 = Avx.UnpackHigh(w0, w1);  // w0[2] w1[2] w0[3] w1[3] | w0[6] …
            var t3 = Avx.UnpackHigh(w2, w3);
            var u0 = Avx.UnpackLow(t0.AsDouble(), t1.AsDouble()).AsSingle();   // blocks 0 | 4
            var u1 = Avx.UnpackHigh(t0.AsDouble(), t1.AsDouble()).AsSingle();  // blocks 1 | 5
            var u2 = Avx.UnpackLow(t2.AsDouble(), t3.AsDouble()).AsSingle();   // blocks 2 | 6
            var u3 = Avx.UnpackHigh(t2.AsDouble(), t3.AsDouble()).AsSingle();  // blocks 3 | 7
            Store(Avx.Permute2x128(u0, u1, 0x20), ref xr, ref mr, start);
            Store(Avx.Permute2x128(u2, u3, 0x20), ref xr, ref mr, start + 8);
            Store(Avx.Permute2x128(u0, u1, 0x31), ref xr, ref mr, start + 16);
            Store(Avx.Permute2x128(u2, u3, 0x31), ref xr, ref mr, start + 24);
        }
        return n;
    }

    /// <summary>
    /// With AVX-512: whole chunks of 64 elements (16 blocks, one per 32-bit lane), as <see cref="ForwardAvx2"/> with twice the
    /// lanes; the 4 × 16 words go into element order by unpacks within 128-bit lanes and a 4 × 4 shuffle of those lanes.
    /// Two chunks at a time (their rounds interleaved: two independent chains of multiplies), then one. Returns how many
    /// elements it did.
    /// </summary>
    internal static int ForwardAvx512(Span<float> x, Span<float> mask, float p, float scale, PhiloxKey key)
    {
        int n = x.Length & ~63;
        if (n == 0)
        {
            return 0;
        }
        var lanes = Vector512.Create(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u, 11u, 12u, 13u, 14u, 15u);
        var stream = Vector512.Create(key.Stream);
        var stepLo = Vector512.Create((uint)key.Step);
        var stepHi = Vector512.Create((uint)(key.Step >> 32));
        uint seedLo = (uint)key.Seed, seedHi = (uint)(key.Seed >> 32);
        var pv = Vector512.Create(p);
        var sv = Vector512.Create(scale);
        var unit = Vector512.Create(1f / 16777216f);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float mr = ref MemoryMarshal.GetReference(mask);
        int start = 0;
        for (; start + 128 <= n; start += 128)
        {
            var a0 = Vector512.Create((uint)(start >> 2)) + lanes;
            var b0 = Vector512.Create((uint)((start + 64) >> 2)) + lanes;
            Vector512<uint> a1 = stream, a2 = stepLo, a3 = stepHi;
            Vector512<uint> b1 = stream, b2 = stepLo, b3 = stepHi;
            uint k0 = seedLo, k1 = seedHi;
            for (int round = 0; round < 10; round++)
            {
                if (round > 0)
                {
                    k0 += W0;
                    k1 += W1;
                }
                var kv0 = Vector512.Create(k0);
                var kv1 = Vector512.Create(k1);
                (a0, a1, a2, a3) = Round(a0, a1, a2, a3, kv0, kv1);
                (b0, b1, b2, b3) = Round(b0, b1, b2, b3, kv0, kv1);
            }
            StoreChunk(a0, a1, a2, a3, pv, sv, unit, ref xr, ref mr, start);
            StoreChunk(b0, b1, b2, b3, pv, sv, unit, ref xr, ref mr, start + 64);
        }
        if (start < n)
        {
            var c0 = Vector512.Create((uint)(start >> 2)) + lanes;
            Vector512<uint> c1 = stream, c2 = stepLo, c3 = stepHi;
            uint k0 = seedLo, k1 = seedHi;
            for (int round = 0; round < 10; round++)
            {
                if (round > 0)
                {
                    k0 += W0;
                    k1 += W1;
                }
                (c0, c1, c2, c3) = Round(c0, c1, c2, c3, Vector512.Create(k0), Vector512.Create(k1));
            }
            StoreChunk(c0, c1, c2, c3, pv, sv, unit, ref xr, ref mr, start);
        }
        return n;
    }

    /// <summary>One Philox-4×32 round on 16 counters at once (<see cref="Philox"/>), with the round's key words.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<uint>, Vector512<uint>, Vector512<uint>, Vector512<uint>) Round(
        Vector512<uint> c0, Vector512<uint> c1, Vector512<uint> c2, Vector512<uint> c3, Vector512<uint> k0, Vector512<uint> k1)
    {
        var (lo0, hi0) = MulWide(c0, Vector512.Create(M0));
        var (lo1, hi1) = MulWide(c2, Vector512.Create(M1));
        return (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0);
    }

    /// <summary>The masks of a chunk's 4 × 16 words, put into element order, stored and applied to <c>x</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreChunk(Vector512<uint> c0, Vector512<uint> c1, Vector512<uint> c2, Vector512<uint> c3,
        Vector512<float> pv, Vector512<float> sv, Vector512<float> unit, ref float xr, ref float mr, int start)
    {
        var w0 = Mask(c0, pv, sv, unit);
        var w1 = Mask(c1, pv, sv, unit);
        var w2 = Mask(c2, pv, sv, unit);
        var w3 = Mask(c3, pv, sv, unit);
        // Within each 128-bit lane i: u0 = block 4i's four words, u1 = block 4i + 1's, …
        var t0 = Avx512F.UnpackLow(w0, w1);
        var t1 = Avx512F.UnpackLow(w2, w3);
        var t2 = Avx512F.UnpackHigh(w0, w1);
        var t3 = Avx512F.UnpackHigh(w2, w3);
        var u0 = Avx512F.UnpackLow(t0.AsDouble(), t1.AsDouble()).AsSingle();
        var u1 = Avx512F.UnpackHigh(t0.AsDouble(), t1.AsDouble()).AsSingle();
        var u2 = Avx512F.UnpackLow(t2.AsDouble(), t3.AsDouble()).AsSingle();
        var u3 = Avx512F.UnpackHigh(t2.AsDouble(), t3.AsDouble()).AsSingle();
        // Output vector k = lane k of u0, u1, u2, u3 (blocks 4k … 4k + 3): a 4 × 4 transpose of 128-bit lanes.
        var v0 = Avx512F.Shuffle4x128(u0, u1, 0x44); // u0.l0 u0.l1 u1.l0 u1.l1
        var v1 = Avx512F.Shuffle4x128(u2, u3, 0x44); // u2.l0 u2.l1 u3.l0 u3.l1
        var v2 = Avx512F.Shuffle4x128(u0, u1, 0xEE); // u0.l2 u0.l3 u1.l2 u1.l3
        var v3 = Avx512F.Shuffle4x128(u2, u3, 0xEE);
        Store(Avx512F.Shuffle4x128(v0, v1, 0x88), ref xr, ref mr, start);
        Store(Avx512F.Shuffle4x128(v0, v1, 0xDD), ref xr, ref mr, start + 16);
        Store(Avx512F.Shuffle4x128(v2, v3, 0x88), ref xr, ref mr, start + 32);
        Store(Avx512F.Shuffle4x128(v2, v3, 0xDD), ref xr, ref mr, start + 48);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<uint> Lo, Vector512<uint> Hi) MulWide(Vector512<uint> a, Vector512<uint> b)
    {
        var even = Avx512F.Multiply(a, b).AsUInt32();                                         // lanes 0, 2, …: lo, hi pairs
        var odd = Avx512F.Multiply(Avx512F.ShiftRightLogical(a.AsUInt64(), 32).AsUInt32(), b).AsUInt32(); // lanes 1, 3, …
        var oddLanes = Vector512.Create(0xFFFFFFFF00000000UL).AsUInt32();
        var lo = Vector512.ConditionalSelect(oddLanes, Avx512F.ShiftLeftLogical(odd.AsUInt64(), 32).AsUInt32(), even);
        var hi = Vector512.ConditionalSelect(oddLanes, odd, Avx512F.ShiftRightLogical(even.AsUInt64(), 32).AsUInt32());
        return (lo, hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Mask(Vector512<uint> bits, Vector512<float> p, Vector512<float> scale, Vector512<float> unit)
    {
        var u = Vector512.ConvertToSingle(Vector512.ShiftRightLogical(bits, 8).AsInt32()) * unit;
        return Vector512.AndNot(scale, Vector512.LessThan(u, p));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> m, ref float x, ref float mask, int at)
    {
        Vector512.StoreUnsafe(m, ref mask, (nuint)at);
        Vector512.StoreUnsafe(Vector512.LoadUnsafe(ref x, (nuint)at) * m, ref x, (nuint)at);
    }

    /// <summary>Per lane, the 64-bit product <c>a·b</c> as its low and high 32-bit halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<uint> Lo, Vector256<uint> Hi) MulWide(Vector256<uint> a, Vector256<uint> b)
    {
        var even = Avx2.Multiply(a, b).AsUInt32();                                     // lanes 0, 2, 4, 6: lo, hi pairs
        var odd = Avx2.Multiply(Avx2.ShiftRightLogical(a.AsUInt64(), 32).AsUInt32(), b).AsUInt32(); // lanes 1, 3, 5, 7
        var lo = Avx2.Blend(even, Avx2.ShiftLeftLogical(odd.AsUInt64(), 32).AsUInt32(), 0b1010_1010);
        var hi = Avx2.Blend(Avx2.ShiftRightLogical(even.AsUInt64(), 32).AsUInt32(), odd, 0b1010_1010);
        return (lo, hi);
    }

    /// <summary><c>(bits ≫ 8)·2⁻²⁴ &lt; p ? 0 : scale</c> per lane, as <see cref="Philox.DropoutMask"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Mask(Vector256<uint> bits, Vector256<float> p, Vector256<float> scale, Vector256<float> unit)
    {
        var u = Vector256.ConvertToSingle(Vector256.ShiftRightLogical(bits, 8).AsInt32()) * unit;
        return Vector256.AndNot(scale, Vector256.LessThan(u, p));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<float> m, ref float x, ref float mask, int at)
    {
        Vector256.StoreUnsafe(m, ref mask, (nuint)at);
        Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref x, (nuint)at) * m, ref x, (nuint)at);
    }

    internal static void CheckProbability(float p)
    {
        if (!(p >= 0f && p <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "The dropout probability must be in [0, 1].");
        }
    }
}
