using System.Collections.Immutable;
using CompiledNets.CodeFixes;
using CompiledNets.Generators.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace CompiledNets.Generators.Tests;

/// <summary>
/// The code fixes, applied as an IDE would: the generator's diagnostic on a document of an
/// <see cref="AdhocWorkspace"/> (offline), the fix registered for it, the changed document's text.
/// </summary>
public class CodeFixTests
{
    [Fact]
    public async Task CN0001_AddsPartial()
    {
        await AssertFix(DiagnosticIds.NotPartial, "Make 'Net' partial",
            """
            using CompiledNets;

            [Model]
            public sealed class Net
            {
                [Layer] readonly Linear a = new(4, 3);
            }
            """,
            """
            using CompiledNets;

            [Model]
            public sealed partial class Net
            {
                [Layer] readonly Linear a = new(4, 3);
            }
            """);
    }

    [Fact]
    public async Task CN0001_AddsPartialToTheContainingType()
    {
        await AssertFix(DiagnosticIds.NotPartial, "Make 'Outer' partial",
            "using CompiledNets;\nstatic class Outer { [Model] partial class Net { [Layer] readonly Linear a = new(4, 3); } }",
            "using CompiledNets;\nstatic partial class Outer { [Model] partial class Net { [Layer] readonly Linear a = new(4, 3); } }");
    }

    [Fact]
    public async Task CN0011_AddsReadonly()
    {
        await AssertFix(DiagnosticIds.LayerNotReadonly, "Make the layer field readonly",
            """
            using CompiledNets;

            [Model]
            public partial class Net
            {
                [Layer] Linear hidden = new(4, 10);
                [Layer] private Linear head = new(10, 3);
            }
            """,
            """
            using CompiledNets;

            [Model]
            public partial class Net
            {
                [Layer] readonly Linear hidden = new(4, 10);
                [Layer] private Linear head = new(10, 3);
            }
            """);
    }

    [Fact]
    public async Task CN0011_NoReadonlyFixForAStaticField()
    {
        var (document, diagnostics) = await Diagnose("using CompiledNets;\n[Model] public partial class Net { [Layer] static readonly Linear a = new(4, 3); }");
        var d = Assert.Single(diagnostics);
        Assert.Equal(DiagnosticIds.LayerNotReadonly, d.Id);
        Assert.Empty(await Actions(document, d));
    }

    [Fact]
    public async Task CN0030_AddsLayer()
    {
        await AssertFix(DiagnosticIds.FieldWithoutLayer, "Add [Layer]",
            """
            using CompiledNets;

            [Model]
            public partial class Net
            {
                [Layer] readonly Linear hidden = new(4, 10);
                readonly ReLU relu = new();
                [Layer] readonly Linear @out = new(10, 3);
            }
            """,
            """
            using CompiledNets;

            [Model]
            public partial class Net
            {
                [Layer] readonly Linear hidden = new(4, 10);
                [Layer] readonly ReLU relu = new();
                [Layer] readonly Linear @out = new(10, 3);
            }
            """);
    }

    [Fact]
    public async Task CN0030_AddsAQualifiedLayerWithoutTheUsing()
    {
        await AssertFix(DiagnosticIds.FieldWithoutLayer, "Add [Layer]",
            "[CompiledNets.Model] partial class Net { [CompiledNets.Layer] readonly CompiledNets.Linear a = new(4, 3); readonly CompiledNets.ReLU r = new(); }",
            "[CompiledNets.Model] partial class Net { [CompiledNets.Layer] readonly CompiledNets.Linear a = new(4, 3); [global::CompiledNets.Layer] readonly CompiledNets.ReLU r = new(); }");
    }

    [Fact]
    public void FixesAreOfferedForTheirIdsOnly()
    {
        Assert.Equal([DiagnosticIds.NotPartial, DiagnosticIds.LayerNotReadonly, DiagnosticIds.FieldWithoutLayer],
            new ModelCodeFixProvider().FixableDiagnosticIds.ToArray());
    }

    private static async Task AssertFix(string id, string title, string source, string expected)
    {
        var (document, diagnostics) = await Diagnose(source);
        var diagnostic = diagnostics.First(d => d.Id == id);
        var action = Assert.Single(await Actions(document, diagnostic));
        Assert.Equal(title, action.Title);
        var operation = Assert.Single((await action.GetOperationsAsync(CancellationToken.None)).OfType<ApplyChangesOperation>());
        var changed = operation.ChangedSolution.GetDocument(document.Id)!;
        string text = (await changed.GetTextAsync()).ToString();
        Assert.Equal(expected.Replace("\r\n", "\n"), text.Replace("\r\n", "\n"));

        // The fixed source has that diagnostic once less.
        var compilation = (await changed.Project.GetCompilationAsync())!;
        GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out _, out var after);
        Assert.Equal(diagnostics.Count(d => d.Id == id) - 1, after.Count(d => d.Id == id));
    }

    private static async Task<ImmutableArray<CodeAction>> Actions(Document document, Diagnostic diagnostic)
    {
        var actions = ImmutableArray.CreateBuilder<CodeAction>();
        var context = new CodeFixContext(document, diagnostic, (a, _) => actions.Add(a), CancellationToken.None);
        await new ModelCodeFixProvider().RegisterCodeFixesAsync(context);
        return actions.ToImmutable();
    }

    /// <summary>A one-document project in an <see cref="AdhocWorkspace"/>, and the generator's diagnostics on it.</summary>
    private static async Task<(Document Document, ImmutableArray<Diagnostic> Diagnostics)> Diagnose(string source)
    {
        var workspace = new AdhocWorkspace();
        var project = workspace.AddProject(ProjectInfo.Create(ProjectId.CreateNewId(), VersionStamp.Create(), "Models", "Models", LanguageNames.CSharp,
            compilationOptions: new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable),
            parseOptions: GeneratorHarness.ParseOptions,
            metadataReferences: GeneratorHarness.Compile().References));
        var document = workspace.AddDocument(project.Id, "Model0.cs", Microsoft.CodeAnalysis.Text.SourceText.From(source));
        document = document.Project.Solution.WithDocumentFilePath(document.Id, "Model0.cs").GetDocument(document.Id)!;
        var compilation = (await document.Project.GetCompilationAsync())!;
        GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out _, out var diagnostics);
        return (document, diagnostics);
    }
}
