using Microsoft.CodeAnalysis;
using Xunit;

namespace CompiledNets.Generators.Tests;

/// <summary>Each diagnostic of the catalogue, at the place it should point to.</summary>
public class DiagnosticTests
{
    private static Diagnostic Single(string source, string id)
    {
        var (diagnostics, sources, errors) = GeneratorHarness.Run(source);
        var d = Assert.Single(diagnostics);
        Assert.Equal(id, d.Id);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.True(d.Location.IsInSource, "the diagnostic has a source location");
        Assert.DoesNotContain(errors, e => e.Severity == DiagnosticSeverity.Error); // no cascade: at most a stub is generated, and it compiles
        Assert.All(sources, s => Assert.Contains("was not compiled", s.Text));
        return d;
    }

    private static string At(Diagnostic d, string source) => source.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length);

    private const string Usings = "using CompiledNets;\n";

    [Fact]
    public void CN0001_NotPartial()
    {
        string src = Usings + "[Model] public class Net { [Layer] readonly Linear a = new(4, 3); }";
        var d = Single(src, "CN0001");
        Assert.Equal("Net", At(d, src));
        Assert.Contains("'Net' must be declared partial", d.GetMessage());
    }

    [Fact]
    public void CN0001_ContainingTypeNotPartial()
    {
        string src = Usings + "public class Outer { [Model] public partial class Net { [Layer] readonly Linear a = new(4, 3); } }";
        var d = Single(src, "CN0001");
        Assert.Equal("Outer", At(d, src));
    }

    [Fact]
    public void CN0002_ShapeMismatchPointsAtTheOffendingArgument()
    {
        string src = Usings + """
            [Model] public partial class Net
            {
                [Layer] readonly Linear hidden = new(4, 10);
                [Layer] readonly ReLU relu = new();
                [Layer] readonly Linear @out = new(12, 3);
            }
            """;
        var d = Single(src, "CN0002");
        Assert.Equal("12", At(d, src));
        Assert.Equal("Layer 'out' expects 12 input features but the previous layer 'relu' produces 10", d.GetMessage());
    }

    [Fact]
    public void CN0002_NestedModelSizesAreChecked()
    {
        string src = Usings + """
            [Model] public partial class Block { [Layer] readonly Linear a = new(8, 16); }
            [Model] public partial class Net
            {
                [Layer] readonly Linear stem = new(4, 6);
                [Layer] readonly Block block = new();
            }
            """;
        var (diagnostics, sources, _) = GeneratorHarness.Run(src);
        var d = Assert.Single(diagnostics);
        Assert.Equal("CN0002", d.Id);
        Assert.Contains("Layer 'block' expects 8 input features but the previous layer 'stem' produces 6", d.GetMessage());
        Assert.Equal(["Block.Model.g.cs", "Net.Model.g.cs"], sources.Select(s => s.HintName).Order());
        Assert.Contains("was not compiled", sources.Single(s => s.HintName == "Net.Model.g.cs").Text);
    }

    [Fact]
    public void CN0003_NotConstant()
    {
        string src = Usings + """
            [Model] public partial class Net
            {
                static int n = 4;
                [Layer] readonly Linear a = new(n, 3);
            }
            """;
        var d = Single(src, "CN0003");
        Assert.Equal("n", At(d, src));
        Assert.Contains("Argument 'inFeatures' of layer 'a'", d.GetMessage());
    }

    [Fact]
    public void ConstantsAndNamedArgumentsAreAccepted()
    {
        string src = Usings + """
            [Model] public partial class Net
            {
                const int Hidden = 2 * 5;
                [Layer] readonly Linear a = new(outFeatures: Hidden, inFeatures: 4);
                [Layer] readonly Dropout d = new(p: 0.5f);
                [Layer] readonly Linear b = new Linear(Hidden, 3, bias: false);
            }
            """;
        var (diagnostics, sources, errors) = GeneratorHarness.Run(src);
        Assert.Empty(diagnostics);
        Assert.Empty(errors);
        Assert.Contains("TinyLinearKernels.Forward<__W10, __W3>(new global::System.Span<float>(_a0, 0, batch * 10), this.@b.Weight.ReadOnlyData, default", sources.Single().Text);
    }

    [Fact]
    public void CN0004_UnsupportedLayerType()
    {
        string src = Usings + "[Model] public partial class Net { [Layer] readonly Linear a = new(4, 3); [Layer] readonly string s = \"\"; }";
        var d = Single(src, "CN0004");
        Assert.Equal("s", At(d, src));
        Assert.Contains("'string'", d.GetMessage());
    }

    [Fact]
    public void CN0005_MissingInitializer()
    {
        string src = Usings + "[Model] public partial class Net { [Layer] readonly Linear a; }";
        var d = Single(src, "CN0005");
        Assert.Equal("a", At(d, src));
    }

    [Fact]
    public void CN0006_NoLayers()
    {
        string src = Usings + "[Model] public partial class Net { }";
        var d = Single(src, "CN0006");
        Assert.Equal("Net", At(d, src));
    }

    [Fact]
    public void CN0007_FirstLayerDoesNotFixTheInputSize()
    {
        string src = Usings + "[Model] public partial class Net { [Layer] readonly ReLU r = new(); [Layer] readonly Linear a = new(4, 3); }";
        var d = Single(src, "CN0007");
        Assert.Equal("new()", At(d, src));
    }

    [Theory]
    [InlineData("[Layer] readonly Linear a = new(0, 3);", "0", "Argument 'inFeatures' of layer 'a' is 0")]
    [InlineData("[Layer] readonly Linear a = new(4, 3); [Layer] readonly Dropout d = new(1.5f);", "1.5f", "Argument 'p' of layer 'd' is 1.5")]
    [InlineData("[Layer] readonly Linear a = new(4, 3); [Layer] readonly Softmax s = new(0);", "0", "Argument 'dim' of layer 's' is 0")]
    [InlineData("[Layer] readonly Linear a = new(4, 3); [Layer] readonly LogSoftmax s = new(dim: 2);", "dim: 2", "Argument 'dim' of layer 's' is 2")]
    public void CN0008_InvalidArgument(string layers, string at, string message)
    {
        string src = Usings + "[Model] public partial class Net { " + layers + " }";
        var d = Single(src, "CN0008");
        Assert.Equal(at, At(d, src));
        Assert.Contains(message, d.GetMessage());
    }

    [Theory]
    [InlineData("public partial class Net<T>", "must not be generic")]
    [InlineData("public abstract partial class Net", "must not be abstract")]
    [InlineData("public partial class Net : System.Exception", "must not declare a base class")]
    public void CN0009_UnsupportedModelClass(string declaration, string message)
    {
        string src = Usings + "[Model] " + declaration + " { [Layer] readonly Linear a = new(4, 3); }";
        var d = Single(src, "CN0009");
        Assert.Contains(message, d.GetMessage());
    }

    [Fact]
    public void CN0009_NestedInAGenericType()
    {
        string src = Usings + "public partial class Outer<T> { [Model] public partial class Net { [Layer] readonly Linear a = new(4, 3); } }";
        var d = Single(src, "CN0009");
        Assert.Contains("must not be nested in a generic type", d.GetMessage());
    }

    [Fact]
    public void CN0010_RecursiveModel()
    {
        string src = Usings + "[Model] public partial class Net { [Layer] readonly Linear a = new(4, 4); [Layer] readonly Net self = new(); }";
        var d = Single(src, "CN0010");
        Assert.Equal("self", At(d, src));
    }

    [Theory]
    [InlineData("[Layer] Linear a = new(4, 3);", "it is not readonly")]
    [InlineData("[Layer] static readonly Linear a = new(4, 3);", "it is static")]
    public void CN0011_LayerFieldMustBeReadonlyInstance(string layer, string reason)
    {
        string src = Usings + "[Model] public partial class Net { " + layer + " }";
        var d = Single(src, "CN0011");
        Assert.Equal("a", At(d, src));
        Assert.Contains("Layer 'a' must be a readonly instance field (" + reason + ")", d.GetMessage());
    }

    [Fact]
    public void AModelWithLayerErrorsStillHasForwardSoUsesDoNotCascade()
    {
        string src = Usings + """
            [Model] public partial class Net { [Layer] readonly ReLU r = new(); [Layer] readonly Linear a = new(4, 3); }
            public static class Use
            {
                public static Tensor Run(Tensor x) => new Net().Eval().Forward(x);
            }
            """;
        var d = Single(src, "CN0007");
        Assert.Equal("new()", At(d, src));
    }

    [Fact]
    public void AMisspelledArgumentNameIsLeftToTheCompiler()
    {
        string src = Usings + "[Model] public partial class Net { [Layer] readonly Linear a = new(out_features: 4, in_features: 3); }";
        var (diagnostics, sources, errors) = GeneratorHarness.Run(src);
        Assert.Empty(diagnostics);
        Assert.Contains(errors, e => e.Id == "CS1739");
        Assert.DoesNotContain(errors, e => e.Id.StartsWith("CN", StringComparison.Ordinal));
        Assert.Contains("was not compiled", Assert.Single(sources).Text);
    }

    [Fact]
    public void EveryDescriptorHasADocPage()
    {
        string root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../docs/diagnostics"));
        foreach (string id in CompiledNets.Generators.Diagnostics.DiagnosticIds.All)
        {
            var descriptor = CompiledNets.Generators.Diagnostics.DiagnosticDescriptors.ById(id);
            Assert.EndsWith("docs/diagnostics/" + id + ".md", descriptor.HelpLinkUri);
            Assert.True(File.Exists(Path.Combine(root, id + ".md")), $"docs/diagnostics/{id}.md exists");
        }
    }
}
