using CompiledNets.Kernels.Gpu;
using Xunit;

namespace CompiledNets.Tests.Devices;

/// <summary><see cref="GpuMath.Exp"/> against float64 <see cref="Math.Exp"/> over its whole range.</summary>
public sealed class GpuMathTests
{
    [Fact]
    public void Exp_is_within_3e_7_relative_over_the_normal_range_and_exact_at_the_edges()
    {
        double worst = 0;
        for (int i = 0; i <= 200_000; i++)
        {
            float x = -87.3f + i * (88.7f + 87.3f) / 200_000;
            double expected = Math.Exp(x);
            double rel = Math.Abs(GpuMath.Exp(x) - expected) / expected;
            worst = Math.Max(worst, rel);
        }
        Assert.True(worst <= 3e-7, $"worst relative error {worst:E2}");
        Assert.Equal(1f, GpuMath.Exp(0f));
        Assert.Equal(1f, GpuMath.Exp(-0f));
        Assert.Equal(float.PositiveInfinity, GpuMath.Exp(89f));
        Assert.Equal(float.PositiveInfinity, GpuMath.Exp(float.PositiveInfinity));
        Assert.Equal(0f, GpuMath.Exp(-104f));
        Assert.Equal(0f, GpuMath.Exp(float.NegativeInfinity));
        Assert.True(float.IsNaN(GpuMath.Exp(float.NaN)));
    }

    [Theory]
    [InlineData(-88f)]
    [InlineData(-95f)]
    [InlineData(-100f)]
    [InlineData(-103.5f)]
    public void Exp_keeps_subnormal_results_to_their_last_bit(float x)
    {
        // Below e^-87.3 results are subnormal: their spacing is 2^-149, so the error is bounded absolutely.
        double expected = Math.Exp(x);
        Assert.True(Math.Abs(GpuMath.Exp(x) - expected) <= Math.Max(3e-7 * expected, float.Epsilon), $"{GpuMath.Exp(x):R} vs {expected:R}");
    }
}
