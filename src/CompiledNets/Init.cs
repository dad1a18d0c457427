namespace CompiledNets;

/// <summary>
/// Parameter initialisers with PyTorch's formulas and defaults (PyTorch: <c>torch.nn.init</c>).
/// Each fills the parameter in place, drawing from the given generator or
/// <see cref="Generator.Default"/>, and returns it.
/// </summary>
/// <example>
/// Per module type, as in the tutorial:
/// <code>
/// foreach (var m in net.Modules())
///     if (m is Linear lin) { Init.Normal(lin.Weight); Init.Constant(lin.Bias!, 0.1f); }
/// </code>
/// </example>
public static class Init
{
    /// <summary>Fan-in and fan-out of a weight: for <c>[out, in]</c>, (in, out) (PyTorch: <c>_calculate_fan_in_and_fan_out</c>).</summary>
    /// <exception cref="ArgumentException">The parameter has fewer than two dimensions.</exception>
    public static (int FanIn, int FanOut) CalculateFans(Parameter p)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (p.Shape.Length < 2)
        {
            throw new ArgumentException($"Fan in and fan out can not be computed for a parameter with fewer than 2 dimensions (shape {Tensor.ShapeString(p.Shape)}).", nameof(p));
        }
        int receptive = 1;
        for (int i = 2; i < p.Shape.Length; i++)
        {
            receptive *= p.Shape[i];
        }
        return (p.Shape[1] * receptive, p.Shape[0] * receptive);
    }

    /// <summary>The recommended gain for a nonlinearity (PyTorch: <c>calculate_gain</c>): linear/sigmoid 1, tanh 5/3, relu √2, leaky_relu √(2/(1+a²)).</summary>
    /// <exception cref="ArgumentException">An unknown nonlinearity name.</exception>
    public static float CalculateGain(string nonlinearity, float param = 0.01f) => nonlinearity switch
    {
        "linear" or "sigmoid" or "conv1d" or "conv2d" or "conv3d" => 1f,
        "tanh" => 5f / 3f,
        "relu" => MathF.Sqrt(2f),
        "leaky_relu" => MathF.Sqrt(2f / (1f + param * param)),
        "selu" => 3f / 4f,
        _ => throw new ArgumentException($"Unsupported nonlinearity '{nonlinearity}'; expected linear, sigmoid, tanh, relu, leaky_relu or selu.", nameof(nonlinearity)),
    };

    /// <summary>Uniform in [<paramref name="a"/>, <paramref name="b"/>) (PyTorch: <c>uniform_(a=0, b=1)</c>).</summary>
    public static Parameter Uniform(Parameter p, float a = 0f, float b = 1f, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(p);
        var g = generator ?? Generator.Default;
        Span<float> data = p.Data;
        lock (g.SyncRoot)
        {
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = a + (b - a) * g.NextFloatUnlocked();
            }
        }
        return p;
    }

    /// <summary>Normal with the given mean and standard deviation (PyTorch: <c>normal_(mean=0, std=1)</c>).</summary>
    public static Parameter Normal(Parameter p, float mean = 0f, float std = 1f, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(p);
        var g = generator ?? Generator.Default;
        Span<float> data = p.Data;
        lock (g.SyncRoot)
        {
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = (float)(mean + std * g.NextNormalUnlocked());
            }
        }
        return p;
    }

    /// <summary>Every value set to <paramref name="value"/> (PyTorch: <c>constant_</c>).</summary>
    public static Parameter Constant(Parameter p, float value)
    {
        ArgumentNullException.ThrowIfNull(p);
        p.Data.Fill(value);
        return p;
    }

    /// <summary>Every value set to 0 (PyTorch: <c>zeros_</c>).</summary>
    public static Parameter Zeros(Parameter p) => Constant(p, 0f);

    /// <summary>Every value set to 1 (PyTorch: <c>ones_</c>).</summary>
    public static Parameter Ones(Parameter p) => Constant(p, 1f);

    /// <summary>
    /// Glorot uniform: U(±gain·√(6/(fan_in + fan_out))) (Glorot and Bengio, 2010; PyTorch: <c>xavier_uniform_(gain=1)</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The parameter has fewer than two dimensions.</exception>
    public static Parameter XavierUniform(Parameter p, float gain = 1f, Generator? generator = null)
    {
        var (fanIn, fanOut) = CalculateFans(p);
        float bound = gain * MathF.Sqrt(6f / (fanIn + fanOut));
        return Uniform(p, -bound, bound, generator);
    }

    /// <summary>Glorot normal: N(0, gain·√(2/(fan_in + fan_out))) (PyTorch: <c>xavier_normal_(gain=1)</c>).</summary>
    /// <exception cref="ArgumentException">The parameter has fewer than two dimensions.</exception>
    public static Parameter XavierNormal(Parameter p, float gain = 1f, Generator? generator = null)
    {
        var (fanIn, fanOut) = CalculateFans(p);
        return Normal(p, 0f, gain * MathF.Sqrt(2f / (fanIn + fanOut)), generator);
    }

    /// <summary>
    /// He uniform: U(±√3·gain/√fan), gain from <paramref name="nonlinearity"/> and <paramref name="a"/>
    /// (He et al., 2015; PyTorch: <c>kaiming_uniform_(a=0, mode='fan_in', nonlinearity='leaky_relu')</c>).
    /// </summary>
    /// <param name="p">The weight, at least two-dimensional.</param>
    /// <param name="a">Negative slope of the leaky ReLU that follows; PyTorch's <c>nn.Linear</c> uses √5.</param>
    /// <param name="mode"><c>"fan_in"</c> (default) or <c>"fan_out"</c>.</param>
    /// <param name="nonlinearity">As <see cref="CalculateGain"/>; default <c>"leaky_relu"</c>.</param>
    /// <param name="generator">The generator; <see cref="Generator.Default"/> when null.</param>
    /// <exception cref="ArgumentException">Fewer than two dimensions, or an unknown mode or nonlinearity.</exception>
    public static Parameter KaimingUniform(Parameter p, float a = 0f, string mode = "fan_in", string nonlinearity = "leaky_relu", Generator? generator = null)
    {
        float bound = MathF.Sqrt(3f) * KaimingStd(p, a, mode, nonlinearity);
        return Uniform(p, -bound, bound, generator);
    }

    /// <summary>He normal: N(0, gain/√fan) (PyTorch: <c>kaiming_normal_</c>).</summary>
    /// <exception cref="ArgumentException">Fewer than two dimensions, or an unknown mode or nonlinearity.</exception>
    public static Parameter KaimingNormal(Parameter p, float a = 0f, string mode = "fan_in", string nonlinearity = "leaky_relu", Generator? generator = null)
        => Normal(p, 0f, KaimingStd(p, a, mode, nonlinearity), generator);

    private static float KaimingStd(Parameter p, float a, string mode, string nonlinearity)
    {
        var (fanIn, fanOut) = CalculateFans(p);
        int fan = mode switch
        {
            "fan_in" => fanIn,
            "fan_out" => fanOut,
            _ => throw new ArgumentException($"Mode '{mode}' not supported; expected fan_in or fan_out.", nameof(mode)),
        };
        return CalculateGain(nonlinearity, a) / MathF.Sqrt(fan);
    }
}
