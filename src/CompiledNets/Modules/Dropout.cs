using System.Globalization;
using CompiledNets.Kernels.Cpu;

namespace CompiledNets;

/// <summary>
/// Inverted dropout (PyTorch: <c>nn.Dropout</c>): in training, zeroes each value with probability
/// <see cref="P"/> and scales the others by <c>1/(1 − p)</c>; in evaluation, the identity.
/// </summary>
public sealed class Dropout : Module
{
    private Generator? _generator;

    /// <summary>Creates the layer.</summary>
    /// <param name="p">Probability of zeroing a value, in [0, 1]; default 0.5.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1] or NaN.</exception>
    public Dropout(float p = 0.5f)
    {
        if (!(p >= 0f && p <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability has to be between 0 and 1.");
        }
        P = p;
    }

    /// <summary>The probability of zeroing a value (PyTorch: <c>p</c>).</summary>
    public float P { get; }

    /// <summary>The generator the masks are drawn from; <see cref="Generator.Default"/> of the calling thread unless set.</summary>
    public Generator Generator
    {
        get => _generator ?? Generator.Default;
        set => _generator = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>The generator set on this layer, or <see langword="null"/> when it draws from <see cref="Generator.Default"/>; checkpoints save it.</summary>
    internal Generator? ExplicitGenerator => _generator;

    /// <summary>
    /// Applies dropout (training mode) or the identity (evaluation mode) to a copy of <paramref name="input"/>. In training
    /// the mask is drawn from <see cref="Philox"/> with key <c>(Generator.NextUInt64(), 0, 0)</c> and the element index,
    /// exactly as the generated models draw it on the CPU and on a device: one draw from <see cref="Generator"/> per call.
    /// </summary>
    public Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = input.Clone();
        if (IsTraining)
        {
            PhiloxDropoutKernels.Forward(output.AsSpan(), new float[output.Numel], P, new PhiloxKey(Generator.NextUInt64(), 0, 0));
        }
        return output;
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => "p=" + P.ToString(CultureInfo.InvariantCulture);
}
