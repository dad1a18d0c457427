using CompiledNets.Kernels.Cpu;
using Xunit;
using static CompiledNets.Tests.Kernels.KernelTestData;

namespace CompiledNets.Tests.Kernels;

/// <summary>
/// The GEMM's packing routines (pure copies, so compared bitwise with the layout they define) in every source layout,
/// at the edges of the 8×8 register transposes (1, 7, 8, 9, 15, 16, 17), of the micro-tile (MR, NR ± 1) and of the
/// depth block; and the depth split.
/// </summary>
public sealed unsafe class GemmPackingTests
{
    [Fact]
    public void Transpose8x8_transposes_a_strided_block()
    {
        float[] src = Normal(8 * 11, 1), dst = Normal(8 * 13, 2);
        float[] before = (float[])dst.Clone();
        if (!System.Runtime.Intrinsics.X86.Avx.IsSupported)
        {
            return; // only called where AVX is
        }
        fixed (float* s = src, d = dst)
        {
            Gemm.Transpose8x8(s, 11, d, 13);
        }
        for (int r = 0; r < 8; r++)
        {
            for (int c = 0; c < 13; c++)
            {
                // Columns 8..12 of each destination row are not written.
                Assert.Equal(c < 8 ? src[c * 11 + r] : before[r * 13 + c], dst[r * 13 + c]);
            }
        }
    }

    public static TheoryData<int, int> PanelSizes()
    {
        var data = new TheoryData<int, int>();
        foreach (int kc in new[] { 1, 7, 8, 9, 15, 16, 17, 196, 255, 256 })
        {
            foreach (int nc in new[] { 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 65 })
            {
                data.Add(kc, nc);
            }
        }
        return data;
    }

    /// <summary>Packed B: micro-panels of <c>kc×NR</c>, <c>panel[p·NR + j] = B(p, jr + j)</c>, zeros past column <c>nc</c>.</summary>
    [Theory]
    [MemberData(nameof(PanelSizes))]
    public void PackB_lays_out_micro_panels_in_every_source_layout(int kc, int nc)
    {
        int nr = Gemm.NR, panels = (nc + nr - 1) / nr;
        // (rsB, csB): dense rows (x, w), transposed dense (the forward's wᵀ), and both strides padded.
        foreach (var (rs, cs) in new[] { (nc + 3, 1), (1, kc + 5), (1, kc), (nc + 2, 1), (3, 3 * kc + 1) })
        {
            float[] b = Normal((kc - 1) * rs + (nc - 1) * cs + 1, (ulong)(kc * 1000 + nc));
            float[] packed = Normal(panels * nr * kc, 9); // garbage: every value must be written
            fixed (float* bp = b, dp = packed)
            {
                Gemm.PackB(bp, rs, cs, kc, nc, dp);
            }
            for (int q = 0; q < panels; q++)
            {
                for (int p = 0; p < kc; p++)
                {
                    for (int j = 0; j < nr; j++)
                    {
                        int col = q * nr + j;
                        float expected = col < nc ? b[p * rs + col * cs] : 0f;
                        float actual = packed[q * nr * kc + p * nr + j];
                        if (expected != actual)
                        {
                            Assert.Fail($"PackB kc {kc}, nc {nc}, strides ({rs}, {cs}): panel {q}, depth {p}, column {j}: {actual} ≠ {expected}");
                        }
                    }
                }
            }
        }
    }

    /// <summary>Packed A: a sliver <c>kc×MR</c>, <c>sliver[p·MR + i] = A(i, p)</c>, zeros past row <c>mb</c>.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void PackA_lays_out_a_sliver_in_every_source_layout(int mb)
    {
        int mr = Gemm.MR;
        if (mb > mr)
        {
            return;
        }
        foreach (int kc in new[] { 1, 7, 8, 9, 15, 16, 17, 196, 255, 256 })
        {
            // (rsA, csA): dense rows (x, dy), dense columns (the weight gradient's dyᵀ), padded strides.
            foreach (var (rs, cs) in new[] { (kc, 1), (kc + 3, 1), (1, mb), (1, mb + 9), (2, 2 * mb + 1) })
            {
                float[] a = Normal((mb - 1) * rs + (kc - 1) * cs + 1, (ulong)(kc * 100 + mb));
                float[] packed = Normal(kc * mr, 3);
                fixed (float* ap = a, dp = packed)
                {
                    Gemm.PackA(ap, rs, cs, mb, kc, dp);
                }
                for (int p = 0; p < kc; p++)
                {
                    for (int i = 0; i < mr; i++)
                    {
                        float expected = i < mb ? a[i * rs + p * cs] : 0f;
                        if (expected != packed[p * mr + i])
                        {
                            Assert.Fail($"PackA mb {mb}, kc {kc}, strides ({rs}, {cs}): depth {p}, row {i}: {packed[p * mr + i]} ≠ {expected}");
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void Depth_is_split_into_equal_blocks_of_at_most_KC()
    {
        Assert.Equal(196, Gemm.DepthBlock(784));
        Assert.Equal(256, Gemm.DepthBlock(1024));
        Assert.Equal(129, Gemm.DepthBlock(257));
        for (int k = 1; k <= 2100; k++)
        {
            int kc = Gemm.DepthBlock(k);
            int blocks = (k + kc - 1) / kc;
            Assert.True(kc <= Gemm.KC, $"k {k}: block {kc} > {Gemm.KC}");
            Assert.Equal((k + Gemm.KC - 1) / Gemm.KC, blocks);
            // The last block is never much thinner than the others.
            Assert.True(k - (blocks - 1) * kc > kc - blocks, $"k {k}: blocks of {kc}, last {k - (blocks - 1) * kc}");
        }
    }
}
