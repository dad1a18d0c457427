using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CompiledNets.Kernels.Cpu;

/// <summary>
/// At inference, the weights of large <see cref="Linear"/> layers packed once for <see cref="Gemm"/> and kept until
/// they change, instead of packed again on every forward.
/// </summary>
/// <remarks>
/// <para>Active only inside a model's generated <c>Forward</c> (between <c>Module.BeginForward</c> and
/// <c>Module.EndForward</c>) in evaluation mode, for models with a parameter of at least <see cref="MinWeightNumel"/>
/// values (the others, and training steps, never touch its thread-statics). A weight is found by the address of its span among the model's
/// parameters; its packed copy is reused while the parameter's <see cref="Parameter.Version"/> is the one it was
/// packed at.</para>
/// <para>The version changes on every read of <see cref="Parameter.Data"/> outside a forward (a write goes through
/// such a read), on every optimizer step, and through <c>LoadStateDict</c> and <see cref="Init"/> (which use
/// <see cref="Parameter.Data"/>). Not seen: writes through a span of <see cref="Parameter.Data"/> taken before a
/// forward and kept past it; take <see cref="Parameter.Data"/> again for each write. When a forward ends by an
/// exception, the next one on that thread drops every packed copy.</para>
/// </remarks>
internal static unsafe class PackedWeightCache
{
    /// <summary>
    /// The fewest weights a packed layer has: <c>LinearKernels.ForwardUsesGemm</c> takes only layers with at least 32 inputs
    /// and 32 outputs. <c>Module.BeginForward</c> enters the cache only for models with such a parameter.
    /// </summary>
    public const int MinWeightNumel = 32 * 32;

    [ThreadStatic] private static Module? t_module;
    [ThreadStatic] private static bool t_enabled;
    private static int s_epoch;

    /// <summary>Whether a generated forward runs on this thread (its reads of <see cref="Parameter.Data"/> do not count as writes).</summary>
    public static bool InForward
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => t_module is not null;
    }

    /// <summary>Called by <c>Module.BeginForward</c>.</summary>
    public static void Enter(Module module, bool inference)
    {
        if (t_module is not null)
        {
            // The last forward on this thread did not finish (an exception): reads of Data since then were not
            // counted, so no packed copy can be trusted.
            Interlocked.Increment(ref s_epoch);
        }
        t_module = module;
        t_enabled = inference;
    }

    /// <summary>Called by <c>Module.EndForward</c>.</summary>
    public static void Exit() => t_module = null;

    /// <summary>
    /// The packed <c>B = wᵀ</c> (<c>w [n, k]</c>) for <see cref="Gemm.Multiply"/>, or null when there is no cache here
    /// (training, no forward on this thread, or <paramref name="w"/> is not a parameter of the running model).
    /// </summary>
    public static float* TryGet(ReadOnlySpan<float> w, int k, int n)
    {
        Module? module = t_module;
        if (!t_enabled || module is null)
        {
            return null;
        }
        return (module.PackedWeights ??= new Store(module)).Get(w, k, n);
    }

    /// <summary>The packed weights of one model.</summary>
    internal sealed class Store(Module module)
    {
        private Parameter[]? _parameters;
        private Entry[] _entries = [];

        /// <summary>How many times a weight was packed (for tests).</summary>
        public int Packs { get; private set; }

        private struct Entry
        {
            public float[]? Packed;
            public int Offset, Version, Epoch, K, N;
        }

        public float* Get(ReadOnlySpan<float> w, int k, int n)
        {
            Parameter[] parameters = _parameters ??= module.Parameters().ToArray();
            if (_entries.Length != parameters.Length)
            {
                _entries = new Entry[parameters.Length];
            }
            ref float start = ref MemoryMarshal.GetReference(w);
            for (int i = 0; i < parameters.Length; i++)
            {
                Parameter p = parameters[i];
                if (p.Numel != w.Length || w.IsEmpty || !Unsafe.AreSame(ref start, ref p.DataArray[p.Offset]))
                {
                    continue;
                }
                ref Entry e = ref _entries[i];
                int epoch = Volatile.Read(ref s_epoch);
                if (e.Packed is null || e.Version != p.Version || e.Epoch != epoch || e.K != k || e.N != n)
                {
                    long size = Gemm.PackedSize(k, n) + 16;
                    if (e.Packed is null || e.Packed.Length < size)
                    {
                        e.Packed = GC.AllocateUninitializedArray<float>((int)size, pinned: true);
                        nint address = (nint)Unsafe.AsPointer(ref e.Packed[0]);
                        e.Offset = (int)((64 - (address & 63)) & 63) / sizeof(float);
                    }
                    fixed (float* wp = w)
                    {
                        // B(p, j) = w[j, p]: row stride 1, column stride k, as Gemm.Forward packs it.
                        Gemm.PackAllB(wp, 1, k, k, n, (float*)Unsafe.AsPointer(ref e.Packed[e.Offset]));
                    }
                    (e.Version, e.Epoch, e.K, e.N) = (p.Version, epoch, k, n);
                    Packs++;
                }
                // Pinned: the address stays valid.
                return (float*)Unsafe.AsPointer(ref e.Packed[e.Offset]);
            }
            return null;
        }
    }
}
