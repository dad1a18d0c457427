using System.Collections.Immutable;
using CompiledNets.Generators.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace CompiledNets.Generators.Tests;

/// <summary>
/// Mistakes that used to pass silently or surface inside generated files (CN0030–CN0035, records, hint
/// names): each gives one CN diagnostic at the exact span and no compiler error inside a generated file.
/// </summary>
public class UserMistakeTests
{
    private const string Usings = "using CompiledNets;\n";

    private static string At(Diagnostic d, string source) => source.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length);

    /// <summary>Runs the generator; asserts exactly one generator diagnostic, an error with this ID, and no compiler error in a generated file.</summary>
    private static (Diagnostic Diagnostic, ImmutableArray<(string HintName, string Text)> Sources) One(string source, string id)
    {
        var (diagnostics, sources, errors) = GeneratorHarness.Run(source);
        var d = Assert.Single(diagnostics);
        Assert.Equal(id, d.Id);
        Assert.Equal(DiagnosticSeverity.Error, d.Severity);
        Assert.EndsWith("docs/diagnostics/" + id + ".md", d.Descriptor.HelpLinkUri);
        Assert.DoesNotContain(errors, e => e.Location.SourceTree?.FilePath.EndsWith(".g.cs", StringComparison.Ordinal) == true);
        return (d, sources);
    }

    [Fact]
    public void CN0030_LayerTypedFieldWithoutLayerAttribute()
    {
        string src = Usings + """
            [Model] public partial class Net
            {
                [Layer] readonly Linear hidden = new(4, 10);
                readonly ReLU relu = new();
                [Layer] readonly Linear @out = new(10, 3);
            }
            """;
        var (d, sources) = One(src, DiagnosticIds.FieldWithoutLayer);
        Assert.Equal("relu", At(d, src));
        Assert.Equal("Field 'relu' of model 'Net' has layer type 'ReLU' but no [Layer] attribute, so it would not be part of the forward pass, the parameters or the state_dict; mark it [Layer] (PyTorch registers every module attribute)",
            d.GetMessage());
        Assert.Single(sources); // the rest of the model is still generated: no cascade of errors at its uses
    }

    [Fact]
    public void CN0030_AlsoForNestedModelsButNotForOtherFields()
    {
        string src = Usings + """
            [Model] public partial class Block { [Layer] readonly Linear a = new(4, 4); }
            [Model] public partial class Net
            {
                [Layer] readonly Linear a = new(4, 4);
                private readonly Block spare = new();
                private readonly int count = 3;
                private static readonly Linear shared = new(1, 1);
                public Linear First => a;
            }
            """;
        var (d, _) = One(src, DiagnosticIds.FieldWithoutLayer);
        Assert.Equal("spare", At(d, src));
    }

    [Fact]
    public void CN0035_LayerTypedAutoProperty()
    {
        string src = Usings + "[Model] public partial class Net { [Layer] readonly Linear a = new(4, 3); public ReLU Act { get; } = new(); }";
        var (d, sources) = One(src, DiagnosticIds.LayerProperty);
        Assert.Equal("Act", At(d, src));
        Assert.Equal("Property 'Act' of model 'Net' has layer type 'ReLU', but layers are [Layer] readonly fields, so it would not be part of the forward pass, the parameters or the state_dict; declare it as '[Layer] readonly ReLU act = new(...);'",
            d.GetMessage());
        Assert.Single(sources);
    }

    [Theory]
    [InlineData("[Layer] readonly Linear? a = new(4, 3);", "Linear?", "Layer field 'a' is declared 'Linear?', but a layer is created by its initializer and is never null; declare it 'Linear'")]
    [InlineData("[Layer] readonly Linear?[] a = [new(4, 3)];", "Linear?[]", "Layer field 'a' is declared 'Linear?[]', but a layer is created by its initializer and is never null; declare it 'Linear[]'")]
    public void CN0036_NullableLayerField(string field, string at, string message)
    {
        string src = Usings + "#nullable enable\n[Model] public partial class Net { [Layer] readonly Linear first = new(4, 4); " + field + " }";
        var (d, _) = One(src, DiagnosticIds.NullableLayer); // also: no warning or error inside a generated file
        Assert.Equal(at, At(d, src));
        Assert.Equal(message, d.GetMessage());
    }

    [Fact]
    public void CN0037_CSharp10GetsADiagnosticNotErrorsInGeneratedFiles()
    {
        const string src = "using CompiledNets;\n[Model] public partial class Net { [Layer] readonly Linear a = new(4, 3); }";
        (ImmutableArray<Diagnostic>, ImmutableArray<Diagnostic>, int) RunAs(LanguageVersion version)
        {
            var options = new CSharpParseOptions(version);
            var compilation = GeneratorHarness.Compile().AddSyntaxTrees(CSharpSyntaxTree.ParseText(src, options, path: "Model0.cs"));
            var driver = CSharpGeneratorDriver.Create(new[] { new ModelGenerator().AsSourceGenerator() }, parseOptions: options)
                .RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
            var errors = output.GetDiagnostics().Where(e => e.Severity == DiagnosticSeverity.Error).ToImmutableArray();
            return (diagnostics, errors, driver.GetRunResult().GeneratedTrees.Length);
        }
        var (cs10, cs10Errors, cs10Sources) = RunAs(LanguageVersion.CSharp10);
        var d = Assert.Single(cs10);
        Assert.Equal(DiagnosticIds.LanguageVersionTooOld, d.Id);
        Assert.Equal("Net", At(d, src));
        Assert.Equal("Model 'Net' is compiled as C# 10.0, but the code CompiledNets generates needs C# 11 or later (static abstract interface members); remove <LangVersion> from the project or set it to 11 or later",
            d.GetMessage());
        Assert.Equal(0, cs10Sources);
        Assert.Empty(cs10Errors);
        // C# 11 is enough: generated, and it compiles.
        var (cs11, cs11Errors, cs11Sources) = RunAs(LanguageVersion.CSharp11);
        Assert.Empty(cs11);
        Assert.Equal(1, cs11Sources);
        Assert.Empty(cs11Errors);
    }

    [Fact]
    public void CN0031_LayerInAClassWithoutModel()
    {
        string src = Usings + "public partial class Net { [Layer] readonly Linear a = new(4, 3), b = new(3, 2); }";
        var (diagnostics, sources, _) = GeneratorHarness.Run(src);
        Assert.Equal(["a", "b"], diagnostics.Select(d => At(d, src)));
        Assert.All(diagnostics, d => Assert.Equal(DiagnosticIds.LayerOutsideModel, d.Id));
        Assert.Equal("Field 'a' is marked [Layer] but 'Net' is not a [Model] class, so nothing is generated for it; mark 'Net' [Model] or remove [Layer]",
            diagnostics[0].GetMessage());
        Assert.Empty(sources);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("this.a")]
    public void CN0032_WeightTying(string initializer)
    {
        string src = Usings + "[Model] public partial class Net { [Layer] readonly Linear a = new(4, 4); [Layer] readonly Linear b = " + initializer + "; }";
        var (d, _) = One(src, DiagnosticIds.TiedLayer);
        Assert.Equal(initializer, At(d, src));
        Assert.Equal("Layer 'b' is initialised with 'a': one layer under two names (weight tying) is not supported yet; give 'b' its own 'new(...)'", d.GetMessage());
    }

    [Theory]
    [InlineData("[Layer] readonly Linear Train = new(3, 3);", "Train", "The layer 'Train' of model 'Net' clashes with the generated member 'Train'; rename it")]
    [InlineData("[Layer] readonly Linear Forward = new(3, 3);", "Forward", "The layer 'Forward' of model 'Net' clashes with the generated member 'Forward'")]
    [InlineData("[Layer] readonly ReLU Parameters = new();", "Parameters", "The layer 'Parameters' of model 'Net' clashes with the member 'Module.Parameters' that every model inherits")]
    [InlineData("public Tensor Forward(Tensor x) => x;", "Forward", "The method 'Forward' of model 'Net' clashes with the generated member 'Forward'")]
    [InlineData("public const int InFeatures = 4;", "InFeatures", "The field 'InFeatures' of model 'Net' clashes with the generated member 'InFeatures'")]
    [InlineData("private float[] _a0 = [];", "_a0", "The field '_a0' of model 'Net' clashes with the generated member '_a0'")]
    [InlineData("public bool Eval { get; set; }", "Eval", "The property 'Eval' of model 'Net' clashes with the generated member 'Eval'")]
    [InlineData("private struct __W4 { }", "__W4", "The type '__W4' of model 'Net' clashes with the generated member '__W4'")]
    [InlineData("private bool _frozenBefore2;", "_frozenBefore2", "The field '_frozenBefore2' of model 'Net' clashes with the generated member '_frozenBefore2'")]
    [InlineData("private void RefreshFreezing() { }", "RefreshFreezing", "The method 'RefreshFreezing' of model 'Net' clashes with the generated member 'RefreshFreezing'")]
    public void CN0033_MemberNamedLikeAGeneratedOne(string member, string at, string message)
    {
        string src = Usings + "[Model] public partial class Net { [Layer] readonly Linear a = new(4, 3); " + member + " }";
        var (d, sources) = One(src, DiagnosticIds.ReservedMemberName);
        Assert.Equal(at, At(d, src));
        Assert.StartsWith(message, d.GetMessage());
        Assert.Empty(sources);
    }

    [Fact]
    public void CN0033_OtherMembersAreFine()
    {
        string src = Usings + """
            [Model] public partial class Net
            {
                [Layer] readonly Linear a = new(4, 3);
                public int Epochs { get; set; }
                public Tensor Predict(Tensor x) => Forward(x);
                public override string ToString() => base.ToString();
                private int _count = 2;
                public int Count => _count;
                private int _all = 1, _dnx = 2, __W = 3;
                public int Sum => _all + _dnx + __W;
            }
            """;
        var (diagnostics, sources, errors) = GeneratorHarness.Run(src);
        Assert.Empty(diagnostics);
        Assert.Empty(errors.Select(e => e.ToString()));
        Assert.Single(sources);
    }

    [Fact]
    public void CN0034_NestedModelFromAnAssemblyBuiltWithoutTheGenerator()
    {
        var library = Library(runGenerator: false);
        string src = Usings + "[Model] public partial class Net { [Layer] readonly Linear stem = new(4, 8); [Layer] readonly Lib.Block block = new(); }";
        var (diagnostics, sources, errors) = Run(src, library);
        var d = Assert.Single(diagnostics);
        Assert.Equal(DiagnosticIds.NestedModelWithoutSizes, d.Id);
        Assert.Equal("block", At(d, src));
        Assert.Equal("Layer 'block' has model type 'Lib.Block' from assembly 'Lib', which has no generated 'InFeatures'/'OutFeatures' constants; build 'Lib' with the CompiledNets generator (the CompiledNets package) and without errors",
            d.GetMessage());
        Assert.Contains("was not compiled", Assert.Single(sources).Text);
        Assert.DoesNotContain(errors, e => e.Severity == DiagnosticSeverity.Error);
    }

    [Fact]
    public void NestedModelFromAnAssemblyBuiltWithTheGeneratorHasItsSizes()
    {
        var library = Library(runGenerator: true);
        string src = Usings + "[Model] public partial class Net { [Layer] readonly Linear stem = new(3, 4); [Layer] readonly Lib.Block block = new(); [Layer] readonly Linear head = new(16, 2); }";
        var (diagnostics, sources, errors) = Run(src, library);
        Assert.Empty(diagnostics);
        Assert.Empty(errors);
        Assert.Contains("public const int OutFeatures = 2;", Assert.Single(sources).Text);
    }

    [Fact]
    public void ModelRecordIsReportedNotIgnored()
    {
        string src = Usings + "[Model] public partial record Net { [Layer] readonly Linear a = new(4, 3); }";
        var (d, sources) = One(src, DiagnosticIds.InvalidModelClass);
        Assert.Equal("Net", At(d, src));
        Assert.Contains("must be a class, not a record", d.GetMessage());
        Assert.Empty(sources);
    }

    [Fact]
    public void ModelsWhoseNamespaceAndNestingSpellTheSameNameGetTheirOwnFiles()
    {
        // C# itself rejects the namespace A.B next to the class A.B (CS0101), but the generator used to throw on
        // the duplicate hint name (CS8785), hiding every model's generated code behind one warning.
        string src = Usings + """
            namespace A.B { [Model] public partial class C { [Layer] readonly Linear a = new(4, 3); } }
            namespace A { public partial class B { [Model] public partial class C { [Layer] readonly Linear a = new(5, 3); } } }
            """;
        var (diagnostics, sources, errors) = GeneratorHarness.Run(src);
        Assert.Empty(diagnostics);
        Assert.All(errors, e => Assert.Equal("CS0101", e.Id));
        Assert.Equal(["A.B+C.Model.g.cs", "A.B.C.Model.g.cs"], sources.Select(s => s.HintName).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MovingAModelInsideItsFileDoesNotRegenerateItsSource(bool customForward)
    {
        string source = customForward ? ForwardTests.ResidualMlp : SnapshotTests.IrisNet;   // a [Forward] method's nodes carry positions too
        var compilation = GeneratorHarness.Compile(source);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var before = driver.GetRunResult().Results.Single();

        string moved = source.Replace("[Model]", "// a comment that moves the model down\n\n[Model]");
        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Single(),
            CSharpSyntaxTree.ParseText(moved, GeneratorHarness.ParseOptions, path: "Model0.cs"));
        var after = driver.RunGenerators(edited).GetRunResult().Results.Single();

        // The parse result holds the new positions (for diagnostics), but what the source output sees is unchanged.
        Assert.Contains(after.TrackedSteps[TrackingNames.Parse].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        var emit = after.TrackedSteps[TrackingNames.Emit].SelectMany(s => s.Outputs).ToList();
        Assert.NotEmpty(emit);
        Assert.All(emit, o => Assert.True(o.Reason is IncrementalStepRunReason.Unchanged or IncrementalStepRunReason.Cached, $"Emit was {o.Reason}"));
        Assert.All(after.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs)
            .Where(o => o.Value is not ValueTuple<Model.EquatableArray<Model.DiagnosticInfo>, Compilation>),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"the source output was {o.Reason}"));
        Assert.Equal(before.GeneratedSources.Single().SourceText.ToString(), after.GeneratedSources.Single().SourceText.ToString());
    }

    [Fact]
    public void MovedModelsDiagnosticsFollowThem()
    {
        string src = Usings + "[Model] public partial class Net { [Layer] readonly Linear a = new(4, 3); [Layer] readonly Linear b = new(5, 2); }";
        string moved = "// moved\n" + src;
        var (d1, _) = One(src, DiagnosticIds.ShapeMismatch);
        var (d2, _) = One(moved, DiagnosticIds.ShapeMismatch);
        Assert.Equal("5", At(d1, src));
        Assert.Equal("5", At(d2, moved));
    }

    /// <summary>A referenced assembly 'Lib' with model <c>Lib.Block</c> (4 → 16), compiled with or without the generator.</summary>
    private static MetadataReference Library(bool runGenerator)
    {
        var compilation = CSharpCompilation.Create("Lib",
            [CSharpSyntaxTree.ParseText(Usings + "namespace Lib; [Model] public partial class Block { [Layer] readonly Linear a = new(4, 16); [Layer] readonly ReLU r = new(); }", GeneratorHarness.ParseOptions)],
            GeneratorHarness.Compile().References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        if (runGenerator)
        {
            GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var withGenerated, out _);
            compilation = (CSharpCompilation)withGenerated;
        }
        using var stream = new MemoryStream();
        var emitted = compilation.Emit(stream);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));
        return MetadataReference.CreateFromImage(stream.ToArray());
    }

    private static (ImmutableArray<Diagnostic> Diagnostics, ImmutableArray<(string HintName, string Text)> Sources, ImmutableArray<Diagnostic> Errors) Run(string source, MetadataReference library)
    {
        var compilation = GeneratorHarness.Compile(source).AddReferences(library);
        var driver = GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        var sources = driver.GetRunResult().Results.SelectMany(r => r.GeneratedSources).Select(s => (s.HintName, s.SourceText.ToString())).ToImmutableArray();
        return (diagnostics, sources, output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToImmutableArray());
    }
}
