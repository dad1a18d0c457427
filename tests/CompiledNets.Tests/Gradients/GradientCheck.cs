using CompiledNets.Tests.Models;
using System.Globalization;
using System.Text;

namespace CompiledNets.Tests.Gradients;

/// <summary>The loss a gradient case is checked under.</summary>
public enum LossKind
{
    CrossEntropy,
    Mse,
}

/// <summary>A model under test: the module, its generated <c>Forward</c>, and its widths.</summary>
internal sealed record ModelUnderTest(Module Model, Func<Tensor, Tensor> Forward, int InFeatures, int OutFeatures)
{
    /// <summary>The models of <see cref="GradientModels"/>, by name, built from <see cref="Generator.Default"/>.</summary>
    public static ModelUnderTest Create(string name) => name switch
    {
        nameof(TutorialNet) => Of(new TutorialNet(), m => m.Forward, TutorialNet.InFeatures, TutorialNet.OutFeatures),
        nameof(LinearNoBiasNet) => Of(new LinearNoBiasNet(), m => m.Forward, LinearNoBiasNet.InFeatures, LinearNoBiasNet.OutFeatures),
        nameof(TanhNet) => Of(new TanhNet(), m => m.Forward, TanhNet.InFeatures, TanhNet.OutFeatures),
        nameof(SigmoidAfterReluNet) => Of(new SigmoidAfterReluNet(), m => m.Forward, SigmoidAfterReluNet.InFeatures, SigmoidAfterReluNet.OutFeatures),
        nameof(TwoActivationsSoftmaxNet) => Of(new TwoActivationsSoftmaxNet(), m => m.Forward, TwoActivationsSoftmaxNet.InFeatures, TwoActivationsSoftmaxNet.OutFeatures),
        nameof(DoubleDropoutNet) => Of(new DoubleDropoutNet(), m => m.Forward, DoubleDropoutNet.InFeatures, DoubleDropoutNet.OutFeatures),
        nameof(DropoutDropoutNet) => Of(new DropoutDropoutNet(), m => m.Forward, DropoutDropoutNet.InFeatures, DropoutDropoutNet.OutFeatures),
        nameof(SoftmaxMiddleDropoutLastNet) => Of(new SoftmaxMiddleDropoutLastNet(), m => m.Forward, SoftmaxMiddleDropoutLastNet.InFeatures, SoftmaxMiddleDropoutLastNet.OutFeatures),
        nameof(InnerBlock) => Of(new InnerBlock(), m => m.Forward, InnerBlock.InFeatures, InnerBlock.OutFeatures),
        nameof(NestedFirstNet) => Of(new NestedFirstNet(), m => m.Forward, NestedFirstNet.InFeatures, NestedFirstNet.OutFeatures),
        nameof(NestedMiddleNet) => Of(new NestedMiddleNet(), m => m.Forward, NestedMiddleNet.InFeatures, NestedMiddleNet.OutFeatures),
        nameof(NestedLastNet) => Of(new NestedLastNet(), m => m.Forward, NestedLastNet.InFeatures, NestedLastNet.OutFeatures),
        nameof(NestedTwiceNet) => Of(new NestedTwiceNet(), m => m.Forward, NestedTwiceNet.InFeatures, NestedTwiceNet.OutFeatures),
        nameof(ArrayFieldOrderNet) => Of(new ArrayFieldOrderNet(), m => m.Forward, ArrayFieldOrderNet.InFeatures, ArrayFieldOrderNet.OutFeatures),
        nameof(OuterOfCustomNet) => Of(new OuterOfCustomNet(), m => m.Forward, OuterOfCustomNet.InFeatures, OuterOfCustomNet.OutFeatures),
        nameof(InputSkipNet) => Of(new InputSkipNet(), m => m.Forward, InputSkipNet.InFeatures, InputSkipNet.OutFeatures),
        nameof(FunctionalNet) => Of(new FunctionalNet(), m => m.Forward, FunctionalNet.InFeatures, FunctionalNet.OutFeatures),
        nameof(ResidualBlockNet) => Of(new ResidualBlockNet(), m => m.Forward, ResidualBlockNet.InFeatures, ResidualBlockNet.OutFeatures),
        nameof(BranchesAddNet) => Of(new BranchesAddNet(), m => m.Forward, BranchesAddNet.InFeatures, BranchesAddNet.OutFeatures),
        nameof(BranchesCatNet) => Of(new BranchesCatNet(), m => m.Forward, BranchesCatNet.InFeatures, BranchesCatNet.OutFeatures),
        nameof(SharedLayerNet) => Of(new SharedLayerNet(), m => m.Forward, SharedLayerNet.InFeatures, SharedLayerNet.OutFeatures),
        nameof(ThreeUsesNet) => Of(new ThreeUsesNet(), m => m.Forward, ThreeUsesNet.InFeatures, ThreeUsesNet.OutFeatures),
        nameof(BlockArrayNet) => Of(new BlockArrayNet(), m => m.Forward, BlockArrayNet.InFeatures, BlockArrayNet.OutFeatures),
        nameof(ForLoopNet) => Of(new ForLoopNet(), m => m.Forward, ForLoopNet.InFeatures, ForLoopNet.OutFeatures),
        nameof(OuterOfRepeatedNet) => Of(new OuterOfRepeatedNet(), m => m.Forward, OuterOfRepeatedNet.InFeatures, OuterOfRepeatedNet.OutFeatures),
        nameof(NestedResultNet) => Of(new NestedResultNet(), m => m.Forward, NestedResultNet.InFeatures, NestedResultNet.OutFeatures),
        nameof(RepeatedInputsNet) => Of(new RepeatedInputsNet(), m => m.Forward, RepeatedInputsNet.InFeatures, RepeatedInputsNet.OutFeatures),
        nameof(NestedCustomNet) => Of(new NestedCustomNet(), m => m.Forward, NestedCustomNet.InFeatures, NestedCustomNet.OutFeatures),
        _ => throw new ArgumentException("Unknown model " + name, nameof(name)),
    };

    public static readonly string[] Names =
    [
        nameof(TutorialNet), nameof(LinearNoBiasNet), nameof(TanhNet), nameof(SigmoidAfterReluNet),
        nameof(TwoActivationsSoftmaxNet), nameof(DoubleDropoutNet), nameof(DropoutDropoutNet),
        nameof(SoftmaxMiddleDropoutLastNet), nameof(InnerBlock), nameof(NestedFirstNet),
        nameof(NestedMiddleNet), nameof(NestedLastNet), nameof(NestedTwiceNet), nameof(ArrayFieldOrderNet), nameof(OuterOfCustomNet),
        nameof(OuterOfRepeatedNet),
    ];

    /// <summary>The models with a [Forward] method (see <see cref="ICustomForward"/>).</summary>
    public static readonly string[] CustomNames =
    [
        nameof(ResidualBlockNet), nameof(BranchesAddNet), nameof(BranchesCatNet), nameof(SharedLayerNet),
        nameof(ThreeUsesNet), nameof(BlockArrayNet), nameof(ForLoopNet), nameof(NestedCustomNet), nameof(FunctionalNet), nameof(InputSkipNet),
        nameof(RepeatedInputsNet), nameof(NestedResultNet),
    ];

    private static ModelUnderTest Of<T>(T model, Func<T, Func<Tensor, Tensor>> forward, int inFeatures, int outFeatures)
        where T : Module => new(model, forward(model), inFeatures, outFeatures);

    /// <summary>Gives every dropout layer its own generator with a distinct seed (see <see cref="ReferenceModel"/>).</summary>
    public void SeedDropouts(ulong seed)
    {
        int k = 0;
        foreach (var d in Model.Modules().OfType<Dropout>())
        {
            d.Generator = new Generator(seed + (ulong)(1000 * ++k));
        }
    }

    /// <summary>Restarts every dropout generator, so that the next forward draws the same masks as the last.</summary>
    public void ReseedDropouts()
    {
        Generator.Default.ManualSeed(FunctionalNet.DropoutSeed); // F.Dropout draws from it
        foreach (var d in Model.Modules().OfType<Dropout>())
        {
            d.Generator.ManualSeed(d.Generator.InitialSeed);
        }
    }
}

/// <summary>Comparisons of float32 results against float64 references, with the worst error kept for reports.</summary>
internal static class Check
{
    /// <summary>
    /// Asserts <c>|actual − expected| ≤ rtol·|expected| + atol·max(1, max|expected|)</c> element-wise: relative
    /// to each value, with an absolute floor scaled by the tensor's largest value (a float32 sum of
    /// terms of that size cannot be more accurate than that near zero).
    /// </summary>
    /// <returns>The largest relative error <c>|actual − expected| / max(|expected|, 1e-3·max(1, max|expected|))</c>, for reports.</returns>
    public static double Close(string what, ReadOnlySpan<float> actual, IReadOnlyList<double> expected, double rtol, double atol,
        IReadOnlyList<bool>? skip = null)
    {
        if (actual.Length != expected.Count)
        {
            throw new Xunit.Sdk.XunitException($"{what}: {actual.Length} values, expected {expected.Count}.");
        }
        double scale = 1.0;
        foreach (double e in expected)
        {
            scale = Math.Max(scale, Math.Abs(e));
        }
        double floor = atol * scale;
        double worst = 0;
        var failures = new StringBuilder();
        int failed = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            if (skip is not null && skip[i])
            {
                continue;
            }
            double err = Math.Abs(actual[i] - expected[i]);
            worst = Math.Max(worst, err / Math.Max(Math.Abs(expected[i]), 1e-3 * scale));
            if (!(err <= rtol * Math.Abs(expected[i]) + floor))
            {
                if (failed++ < 8)
                {
                    failures.AppendLine(string.Create(CultureInfo.InvariantCulture,
                        $"  [{i}] actual {actual[i]:R}, expected {expected[i]:R}, error {err:E2}"));
                }
            }
        }
        if (failed > 0)
        {
            throw new Xunit.Sdk.XunitException($"{what}: {failed} of {actual.Length} values outside rtol {rtol}, atol {floor:E2}:\n{failures}");
        }
        return worst;
    }

    /// <summary>The largest relative error seen by any check of a kind, for the test output.</summary>
    public static void Track(ref double worst, double value)
    {
        double current;
        do
        {
            current = Volatile.Read(ref worst);
        }
        while (value > current && Interlocked.CompareExchange(ref worst, value, current) != current);
    }
}
