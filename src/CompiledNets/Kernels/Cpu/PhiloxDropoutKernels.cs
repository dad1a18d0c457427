namespace CompiledNets.Kernels.Cpu;

/// <summary>
/// Inverted dropout (PyTorch: <c>torch.nn.functional.dropout</c>) with its mask drawn from the counter-based
/// <see cref="Philox"/> generator keyed by <see cref="PhiloxKey"/> and the element index, so that the GPU kernel
/// (<c>Kernels.Gpu.DropoutKernels.Forward</c>) draws the bit-identical mask. The backward is
/// <see cref="DropoutKernels.Backward"/> (<c>g = g·mask</c>).
/// </summary>
/// <remarks>
/// Every dropout in the library draws its mask here (or in the bit-identical GPU kernels) with key
/// <c>(generator.NextUInt64(), 0, 0)</c>: the generated models on the CPU and on a device, <see cref="Dropout.Forward"/>
/// and <see cref="F.Dropout"/>. One generator draw per dropout per forward, so a checkpointed generator state
/// resumes exactly.
/// </remarks>
public static class PhiloxDropoutKernels
{
    /// <summary>
    /// For each <c>i</c>: <c>mask[i] = Philox.Uniform(key, i) &lt; p ? 0 : 1/(1 − p)</c> and <c>x[i] *= mask[i]</c>.
    /// </summary>
    /// <param name="x">Values, multiplied in place.</param>
    /// <param name="mask">Receives the mask, same length as <paramref name="x"/>.</param>
    /// <param name="p">Probability of zeroing, in [0, 1].</param>
    /// <param name="key">The stream: seed, stream number (the layer) and step.</param>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public static void Forward(Span<float> x, Span<float> mask, float p, PhiloxKey key)
    {
        ActivationKernels.CheckSameLength(x, mask);
        CheckProbability(p);
        float scale = Philox.DropoutScale(p);
        for (int start = 0; start < x.Length; start += 4)
        {
            PhiloxBlock block = Philox.Generate(key, start >> 2);
            int end = Math.Min(start + 4, x.Length);
            for (int i = start; i < end; i++)
            {
                float m = Philox.DropoutMask(block[i - start], p, scale);
                mask[i] = m;
                x[i] *= m;
            }
        }
    }

    internal static void CheckProbability(float p)
    {
        if (!(p >= 0f && p <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "The dropout probability must be in [0, 1].");
        }
    }
}
