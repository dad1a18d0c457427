using System.Globalization;
using CompiledNets.Kernels.Cpu;

namespace CompiledNets;

/// <summary>
/// A fully connected layer, <c>y = x·Wᵀ + b</c> (PyTorch: <c>nn.Linear</c>).
/// Input <c>[batch, in_features]</c>, output <c>[batch, out_features]</c>.
/// </summary>
/// <remarks>
/// Initialised as PyTorch's <c>reset_parameters</c>: the weight by
/// <c>kaiming_uniform_(a = √5)</c>, i.e. uniform(±1/√in_features), and the bias by
/// uniform(±1/√in_features), drawing from <see cref="Generator.Default"/>.
/// </remarks>
public sealed class Linear : Module
{
    /// <summary>Creates the layer and initialises it as PyTorch does.</summary>
    /// <param name="inFeatures">Size of each input row (≥ 1).</param>
    /// <param name="outFeatures">Size of each output row (≥ 1).</param>
    /// <param name="bias">Whether to learn an additive bias; default <see langword="true"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is below 1.</exception>
    public Linear(int inFeatures, int outFeatures, bool bias = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = new Parameter(outFeatures, inFeatures);
        Bias = bias ? new Parameter(outFeatures) : null;
        ResetParameters();
    }

    /// <summary>Size of each input row (PyTorch: <c>in_features</c>).</summary>
    public int InFeatures { get; }

    /// <summary>Size of each output row (PyTorch: <c>out_features</c>).</summary>
    public int OutFeatures { get; }

    /// <summary>The weight, <c>[out_features, in_features]</c> (key <c>weight</c>).</summary>
    public Parameter Weight { get; }

    /// <summary>The bias, <c>[out_features]</c> (key <c>bias</c>), or <see langword="null"/> when built with <c>bias: false</c>.</summary>
    public Parameter? Bias { get; }

    /// <summary>Re-draws the parameters as the constructor does (PyTorch: <c>reset_parameters()</c>).</summary>
    public void ResetParameters()
    {
        Init.KaimingUniform(Weight, a: MathF.Sqrt(5f));
        if (Bias is not null)
        {
            float bound = 1f / MathF.Sqrt(InFeatures);
            Init.Uniform(Bias, -bound, bound);
        }
    }

    /// <summary>Applies the layer to <paramref name="input"/> of shape <c>[batch, in_features]</c>, returning a new tensor (no gradient).</summary>
    /// <exception cref="ArgumentException">The input is not <c>[batch, in_features]</c>.</exception>
    public Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 2 || input.Size(1) != InFeatures)
        {
            throw new ArgumentException($"Linear expects an input of shape [batch, {InFeatures}]; got {Tensor.ShapeString(input.Shape)}.", nameof(input));
        }
        int batch = input.Size(0);
        var output = new Tensor(batch, OutFeatures);
        LinearKernels.Forward(input.AsSpan(), Weight.Data, Bias is null ? default : Bias.Data, output.AsSpan(), batch, InFeatures, OutFeatures);
        return output;
    }

    /// <summary>
    /// Adds this layer's weight and bias gradients for one backward pass, <c>dW += dyᵀ·x</c> and <c>db += Σ_rows dy</c>, skipping
    /// a parameter whose <see cref="Parameter.RequiresGrad"/> is <see langword="false"/>. Called by generated backward passes.
    /// </summary>
    /// <param name="gradOutput">Gradient of the output, <c>[batch, out_features]</c>.</param>
    /// <param name="input">The forward input, <c>[batch, in_features]</c>.</param>
    /// <param name="batch">Rows.</param>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public void AccumulateParameterGrads(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> input, int batch)
    {
        if (Weight.RequiresGrad)
        {
            LinearKernels.BackwardWeight(gradOutput, input, Weight.Grad, batch, InFeatures, OutFeatures);
        }
        if (Bias is { RequiresGrad: true })
        {
            LinearKernels.BackwardBias(gradOutput, Bias.Grad, batch, OutFeatures);
        }
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, Parameter Parameter)> DeclareParameters()
    {
        yield return ("weight", Weight);
        if (Bias is not null)
        {
            yield return ("bias", Bias);
        }
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        string.Create(CultureInfo.InvariantCulture, $"in_features={InFeatures}, out_features={OutFeatures}, bias={(Bias is null ? "False" : "True")}");
}
