using ILGPU;
using ILGPU.Algorithms;

namespace CompiledNets.Kernels.Gpu;

/// <summary>
/// Float functions for the GPU kernels whose accuracy does not depend on the backend. ILGPU lowers
/// <c>XMath.Exp</c> on CUDA to <c>ex2.approx.f32</c> of <c>x·log₂e</c>, whose relative error grows with |x| (≈ 8e-6 near
/// |x| = 88), while the CPU accelerator runs .NET's <c>MathF.Exp</c>; this one is the same arithmetic everywhere.
/// </summary>
public static class GpuMath
{
    /// <summary>
    /// <c>eˣ</c> in float (Cephes <c>expf</c>, S. L. Moshier: <c>x = n·ln2 + r</c> with ln2 split in two, a degree-6
    /// polynomial for <c>eʳ</c>, then the exponent added as two powers of two so subnormal results stay right);
    /// peak relative error ≈ 2e-7 for |x| ≤ 88. Overflows to +∞ above 88.72, underflows to 0 below −103.97, NaN stays NaN.
    /// </summary>
    public static float Exp(float x)
    {
        if (XMath.IsNaN(x))
        {
            return x;
        }
        if (x > 88.72283905206835f)
        {
            return float.PositiveInfinity;
        }
        if (x < -103.972076f)
        {
            return 0f;
        }
        float z = XMath.Floor(1.44269504088896341f * x + 0.5f);
        float r = x - z * 0.693359375f;
        r -= z * -2.12194440e-4f;
        int n = (int)z;
        float r2 = r * r;
        float y = (((((1.9875691500E-4f * r + 1.3981999507E-3f) * r + 8.3334519073E-3f) * r + 4.1665795894E-2f) * r
            + 1.6666665459E-1f) * r + 5.0000001201E-1f) * r2 + r + 1f;
        int half = n >> 1; // n in [−150, 128]: both halves are normal powers of two
        return y * Pow2(half) * Pow2(n - half);
    }

    /// <summary><c>2ⁿ</c> for n in [−126, 127], from its bits.</summary>
    private static float Pow2(int n) => Interop.IntAsFloat((uint)(n + 127) << 23);
}
