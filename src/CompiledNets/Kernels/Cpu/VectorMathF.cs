using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CompiledNets.Kernels.Cpu;

/// <summary>
/// Single-precision transcendental functions on <see cref="Vector512{T}"/> computed in float (.NET's
/// <see cref="Vector512.Exp(Vector512{float})"/> widens to double); callers check <see cref="Avx512F.IsSupported"/>.
/// </summary>
internal static class VectorMathF
{
    // Cephes expf (S. L. Moshier, Cephes Math Library, expf.c): exp(x) = 2ⁿ·exp(r), n = round(x·log₂e),
    // r = x − n·ln 2 with ln 2 split in two (C1 + C2) so that r is exact, exp(r) by a degree-7 polynomial on |r| ≤ ln 2 / 2.
    private const float Log2E = 1.44269504088896341f;
    private const float C1 = 0.693359375f;
    private const float C2 = -2.12194440e-4f;
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f;
    private const float P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    // Past these, exp underflows to 0 (below 2⁻¹⁴⁹ even as a subnormal) or overflows to +∞; clamping first keeps r finite.
    private const float Lowest = -104f, Highest = 89f;

    /// <summary>
    /// <c>exp(x)</c> per lane in float arithmetic, within 2 ulp of the exact value for normal results (tested against
    /// <see cref="Math.Exp"/>); subnormal results are exact to ≈ 2⁻¹⁴⁹ absolute, below ≈ −103.3 the result is 0, above
    /// ≈ 88.72 it is +∞, −∞ gives 0 and NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        // vmaxps/vminps return the second operand when either is NaN: x last keeps a NaN.
        x = Avx512F.Min(Vector512.Create(Highest), Avx512F.Max(Vector512.Create(Lowest), x));
        var n = Avx512F.RoundScale(x * Vector512.Create(Log2E), 0); // to nearest, ties to even
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-C1), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-C2), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(P0), r, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
        var e = Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        return Avx512F.Scale(e, n); // e·2ⁿ with IEEE rounding into the subnormals and to +∞
    }

    // Cephes logf (same library, logf.c): x = m·2ᵉ with m in [√½, √2), log x = e·ln 2 + log(1 + f), f = m − 1, log(1 + f)
    // = f − f²/2 + f³·Q(f) with Q of degree 8; ln 2 split in two (C1 + C2) as in Exp.
    private const float Sqrt2 = 1.41421356237309504880f;
    private const float Q0 = 7.0376836292e-2f, Q1 = -1.1514610310e-1f, Q2 = 1.1676998740e-1f, Q3 = -1.2420140846e-1f;
    private const float Q4 = 1.4249322787e-1f, Q5 = -1.6668057665e-1f, Q6 = 2.0000714765e-1f, Q7 = -2.4999993993e-1f;
    private const float Q8 = 3.3333331174e-1f;

    /// <summary>
    /// <c>log(x)</c> per lane in float arithmetic for positive normal <c>x</c> (within 2 ulp of the exact value, tested
    /// against <see cref="Math.Log(double)"/>); lanes that are zero, negative, subnormal, infinite or NaN take .NET's
    /// <see cref="Vector512.Log(Vector512{float})"/> (only when some lane is such).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Log(Vector512<float> x)
    {
        var bits = x.AsInt32();
        var e = Vector512.ConvertToSingle((bits >>> 23) - Vector512.Create(127));
        var m = ((bits & Vector512.Create(0x007FFFFF)) | Vector512.Create(0x3F800000)).AsSingle(); // [1, 2)
        var big = Vector512.GreaterThan(m, Vector512.Create(Sqrt2));
        m = Vector512.ConditionalSelect(big, m * Vector512.Create(0.5f), m);
        e += big & Vector512<float>.One;
        var f = m - Vector512<float>.One;
        var z = f * f;
        var q = Vector512.FusedMultiplyAdd(Vector512.Create(Q0), f, Vector512.Create(Q1));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(Q2));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(Q3));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(Q4));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(Q5));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(Q6));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(Q7));
        q = Vector512.FusedMultiplyAdd(q, f, Vector512.Create(Q8));
        var y = q * f * z;
        y = Vector512.FusedMultiplyAdd(e, Vector512.Create(C2), y);
        y = Vector512.FusedMultiplyAdd(Vector512.Create(-0.5f), z, y);
        var r = Vector512.FusedMultiplyAdd(e, Vector512.Create(C1), f + y);
        // Positive normal: 2⁻¹²⁶ ≤ x ≤ float.MaxValue (false for NaN).
        var normal = Vector512.GreaterThanOrEqual(x, Vector512.Create(1.17549435e-38f)) & Vector512.LessThanOrEqual(x, Vector512.Create(float.MaxValue));
        return normal.AsInt32() == Vector512<int>.AllBitsSet ? r : Vector512.ConditionalSelect(normal, r, Vector512.Log(x));
    }
}
