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
}
