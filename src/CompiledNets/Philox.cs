using System.Runtime.CompilerServices;

namespace CompiledNets;

/// <summary>
/// The key of a counter-based random stream: a seed, a stream number (e.g. one per dropout layer) and a step
/// number. With an element index it names one random number, so any device can draw any element in any order and
/// get the same value (PyTorch's CUDA generator is keyed the same way: seed and offset into a Philox stream).
/// </summary>
/// <param name="Seed">The seed (Philox's 64-bit key).</param>
/// <param name="Stream">Which stream under the seed, e.g. the dropout layer's ordinal; 0 when there is one.</param>
/// <param name="Step">The training step (or any counter that changes each time new numbers are needed).</param>
public readonly record struct PhiloxKey(ulong Seed, uint Stream, ulong Step);

/// <summary>Four 32-bit random words: one Philox-4x32 output block.</summary>
/// <param name="X0">Word 0.</param>
/// <param name="X1">Word 1.</param>
/// <param name="X2">Word 2.</param>
/// <param name="X3">Word 3.</param>
public readonly record struct PhiloxBlock(uint X0, uint X1, uint X2, uint X3)
{
    /// <summary>Word <paramref name="i"/> (0–3; other values read word 3).</summary>
    public uint this[int i] => i == 0 ? X0 : i == 1 ? X1 : i == 2 ? X2 : X3;
}

/// <summary>
/// Philox-4x32-10, the counter-based generator of Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy
/// as 1, 2, 3" (SC 2011), as in Random123 and cuRAND: a 128-bit counter and a 64-bit key give 128 random bits
/// through ten rounds of multiply-xor. Pure functions of their arguments (no state), usable on the CPU and inside
/// ILGPU kernels alike, so CPU and GPU dropout masks are bit-identical.
/// </summary>
/// <remarks>
/// Element <c>i</c> of a <see cref="PhiloxKey"/> stream is word <c>i mod 4</c> of the block with counter
/// <c>(i / 4, Stream, Step low, Step high)</c> and key <c>(Seed low, Seed high)</c>; so one stream holds
/// 2³⁴ elements. PyTorch's CUDA generator is also Philox-4x32-10 but lays out its counter differently, so masks
/// do not match PyTorch's.
/// </remarks>
public static class Philox
{
    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /// <summary>The number of elements one <see cref="PhiloxKey"/> stream holds (2³⁴).</summary>
    public const long MaxElements = 1L << 34;

    /// <summary>The raw generator: ten Philox-4x32 rounds of counter <c>(c0, c1, c2, c3)</c> under key <c>(k0, k1)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PhiloxBlock Generate(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                k0 += W0;
                k1 += W1;
            }
            ulong p0 = (ulong)M0 * c0;
            ulong p1 = (ulong)M1 * c2;
            uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0;
            uint n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
            c1 = (uint)p1;
            c3 = (uint)p0;
            c0 = n0;
            c2 = n2;
        }
        return new PhiloxBlock(c0, c1, c2, c3);
    }

    /// <summary>The block holding elements <c>4·<paramref name="block"/></c> … <c>4·<paramref name="block"/> + 3</c> of the stream.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static PhiloxBlock Generate(PhiloxKey key, long block) =>
        Generate((uint)block, key.Stream, (uint)key.Step, (uint)(key.Step >> 32), (uint)key.Seed, (uint)(key.Seed >> 32));

    /// <summary>A uniform float in [0, 1) from the top 24 bits of <paramref name="bits"/>: <c>(bits ≫ 8)·2⁻²⁴</c> (exact in float).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToUniform(uint bits) => (int)(bits >> 8) * (1f / 16777216f); // int: a direct conversion on GPUs (uint goes through double)

    /// <summary>Element <paramref name="index"/> of the stream as a uniform float in [0, 1).</summary>
    public static float Uniform(PhiloxKey key, long index) => ToUniform(Generate(key, index >> 2)[(int)(index & 3)]);

    /// <summary>
    /// The inverted-dropout mask value of one uniform draw: <c>u &lt; p ? 0 : scale</c>, with
    /// <c>scale = 1/(1 − p)</c> from <see cref="DropoutScale"/> (computed once, on the host).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DropoutMask(uint bits, float p, float scale) => ToUniform(bits) < p ? 0f : scale;

    /// <summary>Inverted dropout's survivor scale <c>1/(1 − p)</c>, or 0 when <c>p = 1</c>.</summary>
    public static float DropoutScale(float p) => p >= 1f ? 0f : 1f / (1f - p);
}
