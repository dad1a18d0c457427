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
/// <para>
/// Thread safety: every method is atomic (a draw, a whole <see cref="Shuffle"/>, a seed or state change holds the
/// generator's lock), so threads sharing a generator never corrupt it or get the same number twice. Which thread gets
/// which numbers then depends on timing, so a run that draws from one generator on several threads at once is not
/// reproducible; give each thread its own generator (<c>new Generator(seed)</c>) for that.
/// </para>
/// </remarks>
public sealed class Generator
{
    /// <summary>PyTorch's default seed (<c>default_rng_seed_val</c>), used until <see cref="ManualSeed"/> is called.</summary>
    public const ulong DefaultSeed = 67280421310721UL;

    private ulong _s0, _s1, _s2, _s3;
    private readonly Lock _lock = new();

    /// <summary>Creates a generator seeded with <paramref name="seed"/>.</summary>
    public Generator(ulong seed = DefaultSeed) => ManualSeed(seed);

    /// <summary>
    /// The process-wide default generator (PyTorch: <c>torch.default_generator</c>, seeded by
    /// <c>torch.manual_seed</c>), used by layer initialisers, <see cref="Init"/>, dropout, <see cref="Data.DataLoader"/>
    /// and the splitting helpers unless another generator or seed is given. It is one object for the whole process, so
    /// a seed set before an <c>await</c> still holds after the continuation moves to another thread.
    /// </summary>
    /// <remarks>
    /// Draws from several threads at once are safe (see the class remarks) but interleave in an order that depends on
    /// timing: for reproducible runs, draw from it on one thread at a time (e.g. build and train a model on one task),
    /// or give the other threads their own generators (<see cref="Dropout.Generator"/>, the <c>seed</c> of a
    /// <see cref="Data.DataLoader"/>, the <c>generator</c> argument of <see cref="Init"/>'s methods).
    /// </remarks>
    public static Generator Default { get; } = new();

    /// <summary>The seed last given to <see cref="ManualSeed"/> (PyTorch: <c>initial_seed()</c>).</summary>
    public ulong InitialSeed { get; private set; }

    /// <summary>The lock that makes each method atomic; kernels that draw many numbers hold it once and call the <c>…Unlocked</c> methods.</summary>
    internal Lock SyncRoot => _lock;

    /// <summary>Restarts the sequence from <paramref name="seed"/> (PyTorch: <c>manual_seed</c>).</summary>
    /// <returns>This generator.</returns>
    public Generator ManualSeed(ulong seed)
    {
        lock (_lock)
        {
            InitialSeed = seed;
            ulong x = seed;
            _s0 = SplitMix64(ref x);
            _s1 = SplitMix64(ref x);
            _s2 = SplitMix64(ref x);
            _s3 = SplitMix64(ref x);
        }
        return this;
    }

    /// <summary>The full state (four words), for checkpoints (PyTorch: <c>get_state()</c>).</summary>
    public ulong[] GetState()
    {
        lock (_lock)
        {
            return [_s0, _s1, _s2, _s3];
        }
    }

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
        lock (_lock)
        {
            (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
        }
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        lock (_lock)
        {
            return NextUInt64Unlocked();
        }
    }

    /// <summary>The next 64 random bits; the caller holds <see cref="SyncRoot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong NextUInt64Unlocked()
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

    /// <summary>A uniform float in [0, 1) with 24 random bits.</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>A uniform float in [0, 1) with 24 random bits; the caller holds <see cref="SyncRoot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal float NextFloatUnlocked() => (NextUInt64Unlocked() >> 40) * (1.0f / (1 << 24));

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private double NextDoubleUnlocked() => (NextUInt64Unlocked() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>), without modulo bias (Lemire's method).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxExclusive"/> ≤ 0.</exception>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        lock (_lock)
        {
            return NextIntUnlocked(maxExclusive);
        }
    }

    private int NextIntUnlocked(int maxExclusive)
    {
        ulong range = (ulong)maxExclusive;
        ulong threshold = (0UL - range) % range;
        while (true)
        {
            ulong hi = Math.BigMul(NextUInt64Unlocked(), range, out ulong lo);
            if (lo >= threshold)
            {
                return (int)hi;
            }
        }
    }

    /// <summary>A standard normal sample (Box–Muller transform, as PyTorch's CPU <c>normal_</c>).</summary>
    public double NextNormal()
    {
        lock (_lock)
        {
            return NextNormalUnlocked();
        }
    }

    /// <summary>A standard normal sample; the caller holds <see cref="SyncRoot"/>.</summary>
    internal double NextNormalUnlocked()
    {
        double u1 = 1.0 - NextDoubleUnlocked(); // (0, 1]: log is finite
        double u2 = NextDoubleUnlocked();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Shuffles <paramref name="values"/> in place (Fisher–Yates).</summary>
    public void Shuffle(Span<int> values)
    {
        lock (_lock)
        {
            for (int i = values.Length - 1; i > 0; i--)
            {
                int j = NextIntUnlocked(i + 1);
                (values[i], values[j]) = (values[j], values[i]);
            }
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
