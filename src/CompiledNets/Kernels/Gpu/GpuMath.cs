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
    /// <summary>The largest of <c>x[start .. start + length)</c> (<paramref name="length"/> ≥ 1): the shift that keeps a row's softmax and log-sum-exp finite.</summary>
    public static float RowMax(ArrayView<float> x, long start, int length)
    {
        float max = x[start];
        for (int j = 1; j < length; j++)
        {
            max = XMath.Max(max, x[start + j]);
        }
        return max;
    }

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

    /// <summary>
    /// <c>ln x</c> in float (Cephes <c>logf</c>, S. L. Moshier: <c>x = m·2ᵉ</c> with <c>m</c> in [√½, √2), a degree-9
    /// polynomial for <c>ln m</c>, <c>e·ln 2</c> added in two parts); peak relative error ≈ 1e-7, also next to 1, where
    /// CUDA's <c>lg2.approx</c> (what <c>XMath.Log</c> becomes there) has only an absolute error bound. Subnormals are scaled
    /// first; <c>ln 0 = −∞</c>, <c>ln(+∞) = +∞</c>, a negative x or NaN gives NaN.
    /// </summary>
    public static float Log(float x)
    {
        if (XMath.IsNaN(x) || x < 0f)
        {
            return float.NaN;
        }
        if (x == 0f)
        {
            return float.NegativeInfinity;
        }
        if (XMath.IsInfinity(x))
        {
            return x;
        }
        int e = 0;
        if (x < 1.17549435e-38f)
        {
            x *= 33554432f; // 2^25: a subnormal becomes normal
            e = -25;
        }
        uint bits = Interop.FloatAsInt(x);
        e += (int)((bits >> 23) & 0xffu) - 126;
        float m = Interop.IntAsFloat((bits & 0x807fffffu) | 0x3f000000u); // in [0.5, 1)
        if (m < 0.707106781186547524f)
        {
            e -= 1;
            m = m + m - 1f;
        }
        else
        {
            m -= 1f;
        }
        float z = m * m;
        float y = ((((((((7.0376836292E-2f * m - 1.1514610310E-1f) * m + 1.1676998740E-1f) * m - 1.2420140846E-1f) * m
            + 1.4249322787E-1f) * m - 1.6668057665E-1f) * m + 2.0000714765E-1f) * m - 2.4999993993E-1f) * m + 3.3333331174E-1f) * m * z;
        float fe = e;
        y += -2.12194440e-4f * fe;
        y += -0.5f * z;
        return m + y + 0.693359375f * fe;
    }

    /// <summary>
    /// <c>ln(1 + x)</c> for x ≥ 0, accurate also for tiny x (Goldberg's trick: <c>ln(u)·x / (u − 1)</c> with <c>u = 1 + x</c>
    /// rounded, which cancels the rounding of u).
    /// </summary>
    public static float Log1p(float x)
    {
        float u = 1f + x;
        return u == 1f ? x : Log(u) * x / (u - 1f);
    }

    /// <summary><c>2ⁿ</c> for n in [−126, 127], from its bits.</summary>
    private static float Pow2(int n) => Interop.IntAsFloat((uint)(n + 127) << 23);
}
