using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CompiledNets.Kernels.Cpu;

/// <summary>
/// Inverted dropout (Srivastava et al., 2014; PyTorch: <c>torch.nn.functional.dropout</c>): in
/// training each value is zeroed with probability <c>p</c> and the survivors are scaled by
/// <c>1/(1 − p)</c>, so evaluation is the identity. The forward, which draws the mask from Philox, is
/// <see cref="PhiloxDropoutKernels.Forward"/>; these are the backwards.
/// </summary>
public static class DropoutKernels
{
    /// <summary>Dropout gradient in place: <c>g = g·mask</c>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void Backward(Span<float> g, ReadOnlySpan<float> mask)
    {
        ActivationKernels.CheckSameLength(g, mask);
        TensorPrimitives.Multiply(g, mask, g);
    }

    /// <summary>
    /// The gradient of ReLU followed by dropout, in one pass, from the dropout output <paramref name="y"/>:
    /// <c>g = y &gt; 0 ? g·mask : 0</c> (where the mask is 0, <c>y</c> is 0 too, so <c>y &gt; 0</c> is the ReLU test).
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void ReluBackward(Span<float> g, ReadOnlySpan<float> mask, ReadOnlySpan<float> y)
    {
        ActivationKernels.CheckSameLength(g, mask);
        ActivationKernels.CheckSameLength(g, y);
        ref float gp = ref MemoryMarshal.GetReference(g);
        ref float mp = ref MemoryMarshal.GetReference(mask);
        ref float yp = ref MemoryMarshal.GetReference(y);
        int n = g.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8)
            {
                var keep = Vector256.GreaterThan(Vector256.LoadUnsafe(ref yp, (nuint)i), Vector256<float>.Zero);
                ((Vector256.LoadUnsafe(ref gp, (nuint)i) * Vector256.LoadUnsafe(ref mp, (nuint)i)) & keep).StoreUnsafe(ref gp, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref gp, i) = Unsafe.Add(ref yp, i) > 0f ? Unsafe.Add(ref gp, i) * Unsafe.Add(ref mp, i) : 0f;
        }
    }
}
