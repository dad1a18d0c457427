using Xunit;

namespace CompiledNets.Tests.Serialization;

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cn-ser-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// A hand-written model with the tutorial net's layers and keys (hidden.weight [10, 4], hidden.bias,
/// out.weight [3, 10], out.bias), for tests that need a <see cref="Module"/> without the generator.
/// Its forward pass uses the layers' own (non-fused) Forward methods.
/// </summary>
internal sealed class HandNet : Module
{
    public HandNet(int hidden = 10)
    {
        Hidden = new Linear(4, hidden);
        Out = new Linear(hidden, 3);
    }

    public Linear Hidden { get; }

    public ReLU Relu { get; } = new();

    public Dropout Drop { get; } = new(0.2f);

    public Linear Out { get; }

    protected override string TypeName => "HandNet";

    protected override IEnumerable<(string Name, Module Module)> DeclareChildren() =>
        [("hidden", Hidden), ("relu", Relu), ("drop", Drop), ("out", Out)];

    public Tensor Forward(Tensor x) => Out.Forward(Drop.Forward(Relu.Forward(Hidden.Forward(x))));
}

internal static class TestData
{
    public static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    /// <summary>Fills every parameter's gradient with values drawn from <paramref name="rng"/>.</summary>
    public static void RandomGrads(Module model, Generator rng)
    {
        foreach (var p in model.Parameters())
        {
            var g = p.Grad;
            for (int i = 0; i < g.Length; i++)
            {
                g[i] = (float)rng.NextNormal();
            }
        }
    }

    public static float[] Flatten(Module model) => model.Parameters().SelectMany(p => p.Data.ToArray()).ToArray();

    public static void AssertBitEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"Element {i} differs: expected {expected[i]:R}, found {actual[i]:R}.");
            }
        }
    }
}
