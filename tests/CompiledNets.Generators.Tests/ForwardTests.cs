using CompiledNets.Generators.Planning;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace CompiledNets.Generators.Tests;

/// <summary>Models with a [Forward] method: the generated code, each rejected construct (ID and exact span), caching.</summary>
public class ForwardTests
{
    internal const string ResidualMlp = """
        using CompiledNets;

        namespace Samples;

        [Model]
        public partial class ResidualMlp
        {
            [Layer] readonly Linear inp = new(64, 128);
            [Layer] readonly Linear[] blocks = [new(128, 128), new(128, 128), new(128, 128)];
            [Layer] readonly Dropout drop = new(0.1f);
            [Layer] readonly Linear head = new(128, 10);

            [Forward]
            Tensor Define(Tensor x)
            {
                var h = F.Relu(inp.Forward(x));
                foreach (var block in blocks)
                    h = h + F.Relu(block.Forward(h));
                return head.Forward(drop.Forward(h));
            }
        }
        """;

    private const string Other = """
        using CompiledNets;

        [Model]
        public partial class Other
        {
            [Layer] readonly Linear a = new(3, 4);
            [Layer] readonly Linear b = new(4, 2);

            [Forward]
            Tensor Define(Tensor x) => b.Forward(F.Tanh(a.Forward(x)) * 2f);
        }
        """;

    [Fact]
    public void ResidualModelSnapshot()
    {
        var (diagnostics, sources, errors) = GeneratorHarness.Run(ResidualMlp);
        Assert.Empty(diagnostics);
        Assert.Empty(errors);
        var (hint, text) = Assert.Single(sources);
        Assert.Equal("Samples.ResidualMlp.Model.g.cs", hint);
        GeneratorHarness.Verify("ResidualMlp", text);
    }

    [Fact]
    public void EditingOneForwardReplansOnlyThatModel()
    {
        var compilation = GeneratorHarness.Compile(ResidualMlp, Other);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Last(),
            CSharpSyntaxTree.ParseText(Other.Replace("F.Tanh", "F.Sigmoid"), GeneratorHarness.ParseOptions, path: "Model1.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();
        var plans = result.TrackedSteps[TrackingNames.Plan].SelectMany(s => s.Outputs).ToList();
        Assert.Equal(2, plans.Count);
        Assert.Single(plans, o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Single(plans, o => o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged);
        Assert.Contains("ActivationKernels.Sigmoid(", result.GeneratedSources.Single(s => s.HintName == "Other.Model.g.cs").SourceText.ToString());

        // An edit outside both models leaves everything cached.
        var again = driver.RunGenerators(edited);
        var third = again.RunGenerators(edited.AddSyntaxTrees(CSharpSyntaxTree.ParseText("class Unrelated { }", GeneratorHarness.ParseOptions, path: "Model2.cs")))
            .GetRunResult().Results.Single();
        Assert.All(third.TrackedSteps[TrackingNames.Plan].SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"a plan was {o.Reason}"));
    }

    [Fact]
    public void NoCachedValueOfAForwardModelHoldsARoslynObject()
    {
        var result = GeneratorHarness.CreateDriver().RunGenerators(GeneratorHarness.Compile(ResidualMlp)).GetRunResult().Results.Single();
        foreach (string step in new[] { TrackingNames.Parse, TrackingNames.Plan, TrackingNames.Diagnostics })
        {
            foreach (var output in result.TrackedSteps[step].SelectMany(s => s.Outputs))
            {
                IncrementalTests.AssertNoRoslynObjects(output.Value, new HashSet<object>(ReferenceEqualityComparer.Instance), step);
            }
        }
    }

    [Fact]
    public void EqualForwardSourcesGiveEqualPlans()
    {
        PlanResult PlanOf() => (PlanResult)GeneratorHarness.CreateDriver().RunGenerators(GeneratorHarness.Compile(ResidualMlp)).GetRunResult()
            .Results.Single().TrackedSteps[TrackingNames.Plan].Single().Outputs.Single().Value;
        var a = PlanOf();
        var b = PlanOf();
        Assert.NotSame(a, b);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal(10, a.Plan!.Values.Count); // x, inp+relu (fused), 3 × (block+relu (fused), +), dropout, head
    }

    private static string Model(string body, string layers = "[Layer] readonly Linear a = new(4, 8); [Layer] readonly Linear b = new(8, 3);") =>
        "using CompiledNets;\n[Model] public partial class Net\n{\n    " + layers + "\n    float scale = 2f;\n    static Tensor Helper(Tensor t) => t;\n"
        + "    [Forward]\n    Tensor Define(Tensor x)\n    {\n" + body + "\n    }\n}\n";

    private static Diagnostic Single(string source, string id)
    {
        var (diagnostics, sources, errors) = GeneratorHarness.Run(source);
        var d = Assert.Single(diagnostics);
        Assert.Equal(id, d.Id);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.DoesNotContain(errors, e => e.Severity == DiagnosticSeverity.Error); // the stub compiles with the user's method
        Assert.All(sources, s => Assert.Contains("was not compiled", s.Text));
        return d;
    }

    private static string At(Diagnostic d, string source) => source.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length);

    [Theory]
    [InlineData("var h = a.Forward(x);\nif (h.Numel > 4) h = F.Relu(h);\nreturn b.Forward(h);", "if (h.Numel > 4) h = F.Relu(h);", "branches")]
    [InlineData("var h = a.Forward(x);\nfor (int i = 0; i < x.Numel; i++) h = F.Relu(h);\nreturn b.Forward(h);", "x.Numel", "is not known when the project builds")]
    [InlineData("var h = a.Forward(x);\nwhile (h.Numel > 0) h = F.Relu(h);\nreturn b.Forward(h);", "while (h.Numel > 0) h = F.Relu(h);", "loops over something other than a [Layer] array")]
    [InlineData("var h = a.Forward(x);\nforeach (var t in new[] { h }) h = t;\nreturn b.Forward(h);", "new[] { h }", "loops over something other than a [Layer] array")]
    [InlineData("return b.Forward(Helper(a.Forward(x)));", "Helper(a.Forward(x))", "calls 'Net.Helper'")]
    [InlineData("var h = a.Forward(x);\nSystem.Console.WriteLine(h);\nreturn b.Forward(h);", "System.Console.WriteLine(h)", "calls 'Console.WriteLine'")]
    [InlineData("return b.Forward(a.Forward(x) * scale);", "scale", "is not a compile-time constant")]
    [InlineData("var h = a.Forward(x);\nh = h.Clone();\nreturn b.Forward(h);", "h.Clone()", "calls 'Tensor.Clone'")]
    [InlineData("return b.Forward(F.Dropout(a.Forward(x), 0.5f, scale > 1f));", "scale > 1f", "is neither a constant nor the model's IsTraining")]
    [InlineData("return x;", "return x;", "returns the input unchanged")]
    public void CN0012_EachRejectedConstructIsReportedAtItsExpression(string body, string span, string reason)
    {
        string src = Model(body);
        var d = Single(src, "CN0012");
        Assert.Equal(span, At(d, src));
        Assert.Contains(reason, d.GetMessage());
    }

    [Fact]
    public void CN0012_ReplacingALayer()
    {
        string src = Model("blocks[0] = new(8, 8);\nreturn b.Forward(blocks[0].Forward(a.Forward(x)));",
            "[Layer] readonly Linear a = new(4, 8); [Layer] readonly Linear b = new(8, 3); [Layer] readonly Linear[] blocks = [new(8, 8)];");
        var d = Single(src, "CN0012");
        Assert.Equal("blocks[0] = new(8, 8)", At(d, src));
        Assert.Contains("replaces a layer", d.GetMessage());
    }

    private const string WithNested = "[Layer] readonly Linear a = new(4, 8); [Layer] readonly Res res = new(); [Layer] readonly Linear b = new(8, 3); [Layer] readonly Linear c = new(16, 3);";

    private const string Res = "[Model] public partial class Res { [Layer] readonly Linear fc = new(8, 8); [Layer] readonly Tanh t = new(); }\n";

    [Theory]
    [InlineData("var r = res.Forward(a.Forward(x));\nreturn b.Forward(F.Relu(r));", "ActivationKernels.Relu(")]
    [InlineData("var r = res.Forward(a.Forward(x));\nreturn b.Forward(F.Tanh(r));", "ActivationKernels.Tanh(")]
    [InlineData("var h = a.Forward(x);\nvar r = res.Forward(h);\nreturn c.Forward(F.Cat(r, h));", "CatForward(")]
    [InlineData("var r = res.Forward(a.Forward(x));\nreturn b.Forward(r + F.Tanh(r));", "ArithmeticKernels.Add(")]
    [InlineData("var r = res.Forward(a.Forward(x));\nreturn b.Forward(F.Dropout(F.Sigmoid(r), 0.25f, IsTraining));", "DropoutKernels.Forward(")]
    [InlineData("var r = res.Forward(a.Forward(x));\nreturn b.Forward(F.Softmax(r, dim: 1));", "SoftmaxKernels.Forward(")]
    [InlineData("var h = a.Forward(x);\nvar t = IsTraining;\nreturn b.Forward(F.Dropout(h, 0.3f, t));", "= this.IsTraining;")]
    [InlineData("var h = a.Forward(x);\nconst float s = 0.5f;\nreturn b.Forward(h * s);", "Affine(")]
    [InlineData("var h = a.Forward(x);\nx = F.Tanh(h);\nx += h;\nreturn b.Forward(x);", "ArithmeticKernels.Add(")]
    public void UnboundNestedResultsAndLocalsCompile(string body, string code)
    {
        var (diagnostics, sources, errors) = GeneratorHarness.Run(Model(body, WithNested) + Res);
        Assert.Empty(diagnostics);
        Assert.DoesNotContain(errors, e => e.Severity == DiagnosticSeverity.Error);
        Assert.DoesNotContain(sources, s => s.Text.Contains("was not compiled"));
        Assert.Contains(sources, s => s.HintName.StartsWith("Net") && s.Text.Contains(code));
    }

    [Fact]
    public void AnUnreadableExpressionIsReportedNeverAStub()
    {
        // F.Relu of two arguments does not bind (the compiler reports CS1501 too), but the generator must say so itself.
        string src = Model("var r = res.Forward(a.Forward(x));\nreturn b.Forward(F.Relu(r, r));", WithNested) + Res;
        var (diagnostics, _, _) = GeneratorHarness.Run(src);
        var d = Assert.Single(diagnostics);
        Assert.Equal("CN0012", d.Id);
        Assert.Equal("F.Relu(r, r)", At(d, src));
    }

    [Theory]
    [InlineData("return b.Forward(a.Forward(x) / 0f);", "float.PositiveInfinity")]
    [InlineData("return b.Forward(a.Forward(x) * float.NaN);", "float.NaN")]
    [InlineData("return b.Forward(a.Forward(x) - float.NegativeInfinity);", "float.PositiveInfinity")]
    public void NonFiniteConstantsCompile(string body, string literal)
    {
        var (diagnostics, sources, errors) = GeneratorHarness.Run(Model(body));
        Assert.Empty(diagnostics);
        Assert.DoesNotContain(errors, e => e.Severity == DiagnosticSeverity.Error);
        Assert.Contains(sources, s => s.Text.Contains("Affine(") && s.Text.Contains(literal));
        Assert.DoesNotContain(sources, s => s.Text.Contains("Infinityf") || s.Text.Contains("NaNf"));
    }

    [Fact]
    public void CN0013_AddOfDifferentWidthsNamesBothWidths()
    {
        string src = Model("var h = a.Forward(x);\nreturn b.Forward(h + x);");
        var d = Single(src, "CN0013");
        Assert.Equal("h + x", At(d, src));
        Assert.Equal("'h + x' needs tensors of the same width; got 8 and 4 features", d.GetMessage());
    }

    [Fact]
    public void CN0013_LayerInputWidth()
    {
        string src = Model("var h = a.Forward(x);\nreturn b.Forward(F.Cat(h, x));");
        var d = Single(src, "CN0013");
        Assert.Equal("b.Forward(F.Cat(h, x))", At(d, src));
        Assert.Equal("'b.Forward(F.Cat(h, x))' expects 8 input features; got 12", d.GetMessage());
    }

    [Theory]
    [InlineData("[Forward] static Tensor Define(Tensor x) => x;", "must be an instance method")]
    [InlineData("[Forward] Tensor Define(Tensor x, int k) => x;", "must take one Tensor and return a Tensor")]
    [InlineData("[Forward] float[] Define(Tensor x) => new float[1];", "must take one Tensor and return a Tensor")]
    public void CN0014_ForwardMethodForm(string method, string reason)
    {
        string src = "using CompiledNets;\n[Model] public partial class Net { [Layer] readonly Linear a = new(4, 3); " + method + " }";
        var d = Single(src, "CN0014");
        Assert.Equal("Define", At(d, src));
        Assert.Contains(reason, d.GetMessage());
    }

    [Fact]
    public void AForwardMethodNamedForwardGivesOneDiagnosticAndNoCompilerError()
    {
        string src = "using CompiledNets;\n[Model] public partial class Net { [Layer] readonly Linear a = new(4, 3); "
            + "[Forward] public Tensor Forward(Tensor x) => a.Forward(x); }";
        var (diagnostics, _, errors) = GeneratorHarness.Run(src);
        var d = Assert.Single(diagnostics);
        Assert.Equal("CN0014", d.Id);
        Assert.Equal("Forward", At(d, src));
        Assert.Contains("must not be named Forward", d.GetMessage());
        Assert.DoesNotContain(errors, e => e.Severity == DiagnosticSeverity.Error);
    }

    [Fact]
    public void CN0014_TwoForwardMethods()
    {
        string src = "using CompiledNets;\n[Model] public partial class Net { [Layer] readonly Linear a = new(4, 3); "
            + "[Forward] Tensor One(Tensor x) => a.Forward(x); [Forward] Tensor Two(Tensor x) => a.Forward(x); }";
        var d = Single(src, "CN0014");
        Assert.Equal("Two", At(d, src));
    }

    [Fact]
    public void CN0015_NestedModelCalledTwice()
    {
        string src = Model("var h = inner.Forward(x);\nreturn b.Forward(a.Forward(inner.Forward(h)));", "[Layer] readonly Inner inner = new(); [Layer] readonly Linear a = new(4, 8); [Layer] readonly Linear b = new(8, 3);")
            + "[Model] public partial class Inner { [Layer] readonly Linear a = new(4, 4); }\n";
        var (diagnostics, _, errors) = GeneratorHarness.Run(src);
        Assert.DoesNotContain(errors, e => e.Severity == DiagnosticSeverity.Error);
        var d = Assert.Single(diagnostics);
        Assert.Equal("CN0015", d.Id);
        Assert.Equal("inner.Forward(h)", At(d, src));
    }

    [Fact]
    public void CN0016_IndexOutsideTheLayerArray()
    {
        string src = Model("return b.Forward(blocks[3].Forward(a.Forward(x)));",
            "[Layer] readonly Linear a = new(4, 8); [Layer] readonly Linear b = new(8, 3); [Layer] readonly Linear[] blocks = [new(8, 8), new(8, 8)];");
        var d = Single(src, "CN0016");
        Assert.Equal("3", At(d, src));
        Assert.Equal("Index 3 is outside layer array 'blocks' of length 2", d.GetMessage());
    }

    [Fact]
    public void CN0017_NothingFixesTheInputWidth()
    {
        string src = "using CompiledNets;\n[Model] public partial class Net { [Layer] readonly ReLU r = new(); [Forward] Tensor Define(Tensor x) => F.Tanh(r.Forward(x)); }";
        var d = Single(src, "CN0017");
        Assert.Equal("Define", At(d, src));
    }

    [Fact]
    public void ForLoopsAndNestedModelsInAForwardCompile()
    {
        string src = "[Model] public partial class Inner { [Layer] readonly Linear a = new(8, 8); [Layer] readonly Tanh t = new(); }\n"
            + Model("var h = a.Forward(x);\nfor (int i = 0; i < blocks.Length; i++) h += F.Tanh(blocks[i].Forward(h));\nh = inner.Forward(h) - h;\nreturn b.Forward(F.Dropout(h, 0.2f, IsTraining));",
                "[Layer] readonly Linear a = new(4, 8); [Layer] readonly Linear b = new(8, 3); [Layer] readonly Linear[] blocks = [new(8, 8), new(8, 8)]; [Layer] readonly Inner inner = new();");
        src = src.Substring(src.IndexOf("using", StringComparison.Ordinal)) + src.Substring(0, src.IndexOf("using", StringComparison.Ordinal));
        var (diagnostics, sources, errors) = GeneratorHarness.Run(src);
        Assert.Empty(diagnostics);
        Assert.DoesNotContain(errors, e => e.Severity == DiagnosticSeverity.Error);
        string net = sources.Single(s => s.HintName == "Net.Model.g.cs").Text;
        Assert.True(net.Contains("this.@blocks[1].Weight.ReadOnlyData"), net);
        Assert.Contains("_training", net);
        Assert.Contains("this.IsTraining", net);
        Assert.Contains("yield return (\"blocks\", new global::CompiledNets.ModuleList(this.@blocks));", net);
    }
}
