using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CompiledNets.Kernels.Cpu;

/// <summary>
/// Element-wise activations and their gradients, in place. Each backward takes the forward
/// <em>output</em> <c>y</c>, so the forward may overwrite its input. Vector256 loops with a scalar tail; the
/// vector and scalar parts compute the same float32 expression, so results do not depend on the length.
/// </summary>
public static class ActivationKernels
{
    /// <summary>ReLU in place: <c>x = max(x, 0)</c> (PyTorch: <c>torch.relu</c>).</summary>
    public static void Relu(Span<float> x) => TensorPrimitives.Max(x, 0f, x);

    /// <summary>ReLU gradient in place from the forward output: <c>g = y &gt; 0 ? g : 0</c>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void ReluBackward(Span<float> g, ReadOnlySpan<float> y)
    {
        CheckSameLength(g, y);
        ref float gp = ref MemoryMarshal.GetReference(g);
        ref float yp = ref MemoryMarshal.GetReference(y);
        int n = g.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8)
            {
                var keep = Vector256.GreaterThan(Vector256.LoadUnsafe(ref yp, (nuint)i), Vector256<float>.Zero);
                (Vector256.LoadUnsafe(ref gp, (nuint)i) & keep).StoreUnsafe(ref gp, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            if (!(Unsafe.Add(ref yp, i) > 0f))
            {
                Unsafe.Add(ref gp, i) = 0f;
            }
        }
    }

    /// <summary>Logistic sigmoid in place: <c>x = 1 / (1 + e⁻ˣ)</c> (PyTorch: <c>torch.sigmoid</c>).</summary>
    public static void Sigmoid(Span<float> x)
    {
        if (!x.IsEmpty) // TensorPrimitives.Sigmoid throws on empty spans
        {
            TensorPrimitives.Sigmoid(x, x);
        }
    }

    /// <summary>Sigmoid gradient in place from the forward output: <c>g = g·y·(1 − y)</c>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void SigmoidBackward(Span<float> g, ReadOnlySpan<float> y)
    {
        CheckSameLength(g, y);
        ref float gp = ref MemoryMarshal.GetReference(g);
        ref float yp = ref MemoryMarshal.GetReference(y);
        int n = g.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256.Create(1f);
            for (; i + 8 <= n; i += 8)
            {
                var yv = Vector256.LoadUnsafe(ref yp, (nuint)i);
                (Vector256.LoadUnsafe(ref gp, (nuint)i) * (yv * (one - yv))).StoreUnsafe(ref gp, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float yv = Unsafe.Add(ref yp, i);
            Unsafe.Add(ref gp, i) *= yv * (1f - yv);
        }
    }

    /// <summary>Hyperbolic tangent in place (PyTorch: <c>torch.tanh</c>), within ≈3e-7 relative error for every input.</summary>
    /// <remarks>
    /// <c>TensorPrimitives.Tanh</c> (System.Numerics.Tensors 10.0) loses relative accuracy near 0: it
    /// returns −6e-8 for tanh(0), −0 for tanh(1e-8) and is 5e-3 off at 1e-5. It is used for |x| ≥ 0.625,
    /// where it is accurate to ≈1e-7; below, Cephes' <c>tanhf</c> odd polynomial (S. L. Moshier, peak
    /// relative error 2.5e-7 on [−0.625, 0.625]) gives <c>x + x³·P(x²)</c>, exact at ±0.
    /// </remarks>
    public static void Tanh(Span<float> x)
    {
        Span<float> large = stackalloc float[256];
        for (int start = 0; start < x.Length; start += large.Length)
        {
            Span<float> chunk = x.Slice(start, Math.Min(large.Length, x.Length - start));
            Span<float> t = large[..chunk.Length];
            TensorPrimitives.Tanh(chunk, t);
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                ref float cp = ref MemoryMarshal.GetReference(chunk);
                ref float tp = ref MemoryMarshal.GetReference(t);
                for (; i + 8 <= chunk.Length; i += 8)
                {
                    // The same float operations as the scalar loop below, eight at a time.
                    var v = Vector256.LoadUnsafe(ref cp, (nuint)i);
                    var z = v * v;
                    var p = ((((Vector256.Create(-5.70498872745E-3f) * z + Vector256.Create(2.06390887954E-2f)) * z
                        - Vector256.Create(5.37397155531E-2f)) * z + Vector256.Create(1.33314422036E-1f)) * z
                        - Vector256.Create(3.33332819422E-1f)) * z;
                    var small = Vector256.ConditionalSelect(Vector256.Equals(v, Vector256<float>.Zero), v, v + v * p);
                    var useSmall = Vector256.LessThan(Vector256.Abs(v), Vector256.Create(0.625f));
                    Vector256.ConditionalSelect(useSmall, small, Vector256.LoadUnsafe(ref tp, (nuint)i)).StoreUnsafe(ref cp, (nuint)i);
                }
            }
            for (; i < chunk.Length; i++)
            {
                float v = chunk[i];
                if (MathF.Abs(v) < 0.625f)
                {
                    float z = v * v;
                    float p = ((((-5.70498872745E-3f * z + 2.06390887954E-2f) * z - 5.37397155531E-2f) * z
                        + 1.33314422036E-1f) * z - 3.33332819422E-1f) * z;
                    chunk[i] = v == 0f ? v : v + v * p; // keeps the sign of ±0
                }
                else
                {
                    chunk[i] = t[i];
                }
            }
        }
    }

    /// <summary>Tanh gradient in place from the forward output: <c>g = g·(1 − y²)</c>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void TanhBackward(Span<float> g, ReadOnlySpan<float> y)
    {
        CheckSameLength(g, y);
        ref float gp = ref MemoryMarshal.GetReference(g);
        ref float yp = ref MemoryMarshal.GetReference(y);
        int n = g.Length, i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256.Create(1f);
            for (; i + 8 <= n; i += 8)
            {
                var yv = Vector256.LoadUnsafe(ref yp, (nuint)i);
                (Vector256.LoadUnsafe(ref gp, (nuint)i) * (one - yv * yv)).StoreUnsafe(ref gp, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float yv = Unsafe.Add(ref yp, i);
            Unsafe.Add(ref gp, i) *= 1f - yv * yv;
        }
    }

    internal static void CheckSameLength(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"Spans of {a.Length} and {b.Length} values; expected equal lengths.");
        }
    }
}
