using CompiledNets.Kernels.Cpu;
using Xunit;

namespace CompiledNets.Tests.Devices;

/// <summary><see cref="Philox"/> against Random123's known answers, and the CPU Philox dropout's statistics.</summary>
public sealed class PhiloxTests
{
    // Random123 1.14, examples/kat_vectors: "philox4x32 10 ctr[4] key[2] expected[4]".
    [Theory]
    [InlineData(0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Matches_Random123s_known_answers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint e0, uint e1, uint e2, uint e3)
    {
        Assert.Equal(new PhiloxBlock(e0, e1, e2, e3), Philox.Generate(c0, c1, c2, c3, k0, k1));
    }

    [Fact]
    public void The_key_lays_out_index_stream_step_and_seed_as_documented()
    {
        var key = new PhiloxKey(Seed: 0x0123456789ABCDEFUL, Stream: 7, Step: 0x0000000500000003UL);
        var block = Philox.Generate(0x10, 7, 3, 5, 0x89ABCDEF, 0x01234567);
        Assert.Equal(block, Philox.Generate(key, 0x10));
        Assert.Equal(Philox.ToUniform(block.X2), Philox.Uniform(key, 4 * 0x10 + 2));
        Assert.Equal(0f, Philox.ToUniform(0));
        Assert.Equal(1f - 1f / 16777216f, Philox.ToUniform(uint.MaxValue));
    }

    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.5f)]
    public void Dropout_keeps_about_1_minus_p_and_streams_and_steps_differ(float p)
    {
        const int n = 100_000;
        var x = new float[n];
        Array.Fill(x, 2f);
        var m1 = new float[n];
        PhiloxDropoutKernels.Forward(x, m1, p, new PhiloxKey(42, 0, 1));
        float scale = 1f / (1f - p);
        int kept = 0;
        for (int i = 0; i < n; i++)
        {
            Assert.True(m1[i] == 0f || m1[i] == scale);
            Assert.Equal(2f * m1[i], x[i]);
            kept += m1[i] != 0f ? 1 : 0;
        }
        double sd = Math.Sqrt(n * p * (1 - p));
        Assert.InRange(kept, n * (1 - p) - 5 * sd, n * (1 - p) + 5 * sd);

        var m2 = new float[n];
        PhiloxDropoutKernels.Forward(new float[n], m2, p, new PhiloxKey(42, 1, 1));
        var m3 = new float[n];
        PhiloxDropoutKernels.Forward(new float[n], m3, p, new PhiloxKey(42, 0, 2));
        var m4 = new float[n];
        PhiloxDropoutKernels.Forward(new float[n], m4, p, new PhiloxKey(42, 0, 1));
        Assert.Equal(m1, m4);
        // Independent masks agree where both keep or both drop: p² + (1 − p)², not 1.
        double agree12 = Enumerable.Range(0, n).Count(i => m1[i] == m2[i]) / (double)n;
        double agree13 = Enumerable.Range(0, n).Count(i => m1[i] == m3[i]) / (double)n;
        double expected = p * p + (1 - p) * (1 - p);
        Assert.InRange(agree12, expected - 0.01, expected + 0.01);
        Assert.InRange(agree13, expected - 0.01, expected + 0.01);
    }

    public static TheoryData<int, float> VectorCases()
    {
        var data = new TheoryData<int, float>();
        foreach (int n in Kernels.KernelTestData.Lengths.Concat([95, 96, 97, 127, 128, 129, 191, 192, 193, 1000, 4099]))
        {
            foreach (float p in new[] { 0f, 0.1f, 0.5f, 0.9f, 1f })
            {
                data.Add(n, p);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(VectorCases))]
    public void The_vector_kernel_gives_the_scalar_kernels_bits_at_every_length(int n, float p)
    {
        // The scalar loop from element 0 is the reference; the public Forward runs 32 elements (8 Philox blocks) at a
        // time with AVX2 and the tail scalar.
        foreach (var key in new[] { new PhiloxKey(0, 0, 0), new PhiloxKey(0xFEDCBA9876543210UL, 3, 0x0000000700000001UL), new PhiloxKey(ulong.MaxValue, uint.MaxValue, ulong.MaxValue) })
        {
            float[] x = Kernels.KernelTestData.Normal(n, (ulong)n + 5, scale: 3);
            if (n > 3)
            {
                x[0] = float.NaN;
                x[1] = -0f;
                x[2] = float.NegativeInfinity;
            }
            float[] xs = (float[])x.Clone(), ms = new float[n];
            PhiloxDropoutKernels.ForwardScalar(xs, ms, p, Philox.DropoutScale(p), key, 0);
            float[] xv = (float[])x.Clone(), mv = Enumerable.Repeat(-1f, n).ToArray();
            PhiloxDropoutKernels.Forward(xv, mv, p, key);
            Assert.Equal(ms.Select(BitConverter.SingleToInt32Bits), mv.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(xs.Select(BitConverter.SingleToInt32Bits), xv.Select(BitConverter.SingleToInt32Bits));
            // And both are Philox.Uniform of the element index, as the GPU kernels draw it.
            float scale = Philox.DropoutScale(p);
            Assert.Equal(Enumerable.Range(0, n).Select(i => Philox.Uniform(key, i) < p ? 0f : scale), mv);
        }
    }

    [Fact]
    public void The_vector_path_runs_where_AVX2_is_there()
    {
        var m = new float[64];
        int done = System.Runtime.Intrinsics.X86.Avx2.IsSupported
            ? PhiloxDropoutKernels.ForwardAvx2(new float[64], m, 0.5f, 2f, new PhiloxKey(9, 0, 0))
            : 0;
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx2.IsSupported ? 64 : 0, done);
        if (done > 0)
        {
            var reference = new float[64];
            PhiloxDropoutKernels.ForwardScalar(new float[64], reference, 0.5f, 2f, new PhiloxKey(9, 0, 0), 0);
            Assert.Equal(reference, m);
            Assert.Contains(0f, m);
            Assert.Contains(2f, m);
        }
    }

    [Fact]
    public void The_AVX512_path_runs_where_AVX512_is_there_and_gives_the_scalar_bits()
    {
        var m = new float[200];
        var x = Kernels.KernelTestData.Normal(200, 4);
        int done = System.Runtime.Intrinsics.X86.Avx512F.IsSupported
            ? PhiloxDropoutKernels.ForwardAvx512(x, m, 0.3f, 1f / 0.7f, new PhiloxKey(11, 2, 5))
            : 0;
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? 192 : 0, done); // whole chunks of 64 only
        if (done > 0)
        {
            var reference = new float[200];
            var xs = Kernels.KernelTestData.Normal(200, 4);
            PhiloxDropoutKernels.ForwardScalar(xs, reference, 0.3f, 1f / 0.7f, new PhiloxKey(11, 2, 5), 0);
            Assert.Equal(reference.Take(192), m.Take(192));
            Assert.Equal(xs.Take(192), x.Take(192));
            Assert.Equal(new float[8], m.Skip(192)); // nothing past the chunks
        }
    }

    [Fact]
    public void Dropout_rejects_a_probability_outside_0_1()
    {
        var x = new float[3];
        Assert.Throws<ArgumentOutOfRangeException>(() => PhiloxDropoutKernels.Forward(x, new float[3], 1.5f, default));
        Assert.Throws<ArgumentOutOfRangeException>(() => PhiloxDropoutKernels.Forward(x, new float[3], float.NaN, default));
        Assert.Throws<ArgumentException>(() => PhiloxDropoutKernels.Forward(x, new float[2], 0.5f, default));
    }
}
