using System.Numerics;
using System.Runtime.CompilerServices;

namespace CompiledNets;

/// <summary>
/// A seeded pseudo-random number generator (PyTorch: <c>torch.Generator</c>). One seed makes
/// parameter initialisation, dropout masks and shuffling reproducible run after run.
/// </summary>
/// <remarks>
/// The algorithm is xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom number
/// generators", 2021), seeded through SplitMix64. Its whole state is four 64-bit words:
/// <see cref="GetState"/> and <see cref="SetState"/> save and restore it exactly, so a resumed run
/// draws the same numbers as one that never stopped. The numbers differ from PyTorch's (mt19937).
/// </remarks>
public sealed class Generator
{
    /// <summary>PyTorch's default seed (<c>default_rng_seed_val</c>), used until <see cref="ManualSeed"/> is called.</summary>
    public const ulong DefaultSeed = 67280421310721UL;

    [ThreadStatic]
    private static Generator? t_default;

    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Creates a generator seeded with <paramref name="seed"/>.</summary>
    public Generator(ulong seed = DefaultSeed) => ManualSeed(seed);

    /// <summary>
    /// The default generator of the calling thread (PyTorch: <c>torch.default_generator</c>), used by
    /// layer initialisers, <see cref="Init"/> and dropout unless another is given. It is per thread so
    /// that tests running in parallel do not draw from each other's sequence.
    /// </summary>
    public static Generator Default => t_default ??= new Generator();

    /// <summary>The seed last given to <see cref="ManualSeed"/> (PyTorch: <c>initial_seed()</c>).</summary>
    public ulong InitialSeed { get; private set; }

    /// <summary>Restarts the sequence from <paramref name="seed"/> (PyTorch: <c>manual_seed</c>).</summary>
    /// <returns>This generator.</returns>
    public Generator ManualSeed(ulong seed)
    {
        InitialSeed = seed;
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
        return this;
    }

    /// <summary>The full state (four words), for checkpoints (PyTorch: <c>get_state()</c>).</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3];

    /// <summary>Restores a state returned by <see cref="GetState"/> (PyTorch: <c>set_state()</c>).</summary>
    /// <exception cref="ArgumentException">The state does not have four words or is all zero (not a reachable state).</exception>
    public void SetState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 4)
        {
            throw new ArgumentException($"A generator state has 4 words; got {state.Length}.", nameof(state));
        }
        if ((state[0] | state[1] | state[2] | state[3]) == 0)
        {
            throw new ArgumentException("An all-zero state is not a valid xoshiro256** state.", nameof(state));
        }
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
    }

    /// <summary>The next 64 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>
    /// Dropout's mask: <c>mask[i] = NextFloat() &lt; p ? 0 : scale</c> for each <c>i</c> in order, the same draws as
    /// that loop, with the state kept in registers for the whole span.
    /// </summary>
    internal void FillDropoutMask(Span<float> mask, float p, float scale)
    {
        ulong s0 = _s0, s1 = _s1, s2 = _s2, s3 = _s3;
        for (int i = 0; i < mask.Length; i++)
        {
            ulong result = BitOperations.RotateLeft(s1 * 5, 7) * 9;
            ulong t = s1 << 17;
            s2 ^= s0;
            s3 ^= s1;
            s1 ^= s2;
            s0 ^= s3;
            s2 ^= t;
            s3 = BitOperations.RotateLeft(s3, 45);
            mask[i] = (result >> 40) * (1.0f / (1 << 24)) < p ? 0f : scale;
        }
        (_s0, _s1, _s2, _s3) = (s0, s1, s2, s3);
    }

    /// <summary>A uniform float in [0, 1) with 24 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float NextFloat() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>), without modulo bias (Lemire's method).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxExclusive"/> ≤ 0.</exception>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        ulong range = (ulong)maxExclusive;
        ulong threshold = (0UL - range) % range;
        while (true)
        {
            ulong hi = Math.BigMul(NextUInt64(), range, out ulong lo);
            if (lo >= threshold)
            {
                return (int)hi;
            }
        }
    }

    /// <summary>A standard normal sample (Box–Muller transform, as PyTorch's CPU <c>normal_</c>).</summary>
    public double NextNormal()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1]: log is finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Shuffles <paramref name="values"/> in place (Fisher–Yates).</summary>
    public void Shuffle(Span<int> values)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    /// <summary>Fills <paramref name="destination"/> with a random permutation of 0 … n-1 (PyTorch: <c>torch.randperm</c>).</summary>
    public void RandPerm(Span<int> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = i;
        }
        Shuffle(destination);
    }

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
