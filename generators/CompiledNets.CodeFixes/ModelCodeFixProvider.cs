using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using CompiledNets.Generators.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;

namespace CompiledNets.CodeFixes;

/// <summary>
/// The mechanical fixes: add <c>partial</c> (CN0001), add <c>readonly</c> (CN0011) and add <c>[Layer]</c> (CN0030).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ModelCodeFixProvider)), Shared]
public sealed class ModelCodeFixProvider : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } =
        ImmutableArray.Create(DiagnosticIds.NotPartial, DiagnosticIds.LayerNotReadonly, DiagnosticIds.FieldWithoutLayer);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null)
        {
            return;
        }
        foreach (var diagnostic in context.Diagnostics)
        {
            var node = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
            switch (diagnostic.Id)
            {
                case DiagnosticIds.NotPartial when node.FirstAncestorOrSelf<TypeDeclarationSyntax>() is { } type
                    && !type.Modifiers.Any(SyntaxKind.PartialKeyword):
                    Register(context, diagnostic, "Make '" + type.Identifier.ValueText + "' partial", "AddPartial",
                        (generator, n) => generator.WithModifiers(n, generator.GetModifiers(n).WithPartial(true)), type);
                    break;
                case DiagnosticIds.LayerNotReadonly when node.FirstAncestorOrSelf<FieldDeclarationSyntax>() is { } field
                    && !field.Modifiers.Any(SyntaxKind.ReadOnlyKeyword) && !field.Modifiers.Any(SyntaxKind.StaticKeyword):
                    Register(context, diagnostic, "Make the layer field readonly", "AddReadonly",
                        (generator, n) => generator.WithModifiers(n, generator.GetModifiers(n).WithIsReadOnly(true)), field);
                    break;
                case DiagnosticIds.FieldWithoutLayer when node.FirstAncestorOrSelf<FieldDeclarationSyntax>() is { } field:
                    context.RegisterCodeFix(CodeAction.Create("Add [Layer]",
                        ct => AddLayerAttributeAsync(context.Document, field, ct), equivalenceKey: "AddLayer"), diagnostic);
                    break;
            }
        }
    }

    private static void Register(CodeFixContext context, Diagnostic diagnostic, string title, string key,
        System.Func<SyntaxGenerator, SyntaxNode, SyntaxNode> change, SyntaxNode node)
    {
        context.RegisterCodeFix(CodeAction.Create(title, async ct =>
        {
            var editor = await DocumentEditor.CreateAsync(context.Document, ct).ConfigureAwait(false);
            editor.ReplaceNode(node, (n, generator) => change(generator, n));
            return editor.GetChangedDocument();
        }, equivalenceKey: key), diagnostic);
    }

    /// <summary>Puts <c>[Layer]</c> first on the field's line, keeping its indentation; spelled <c>Layer</c> where <c>using CompiledNets;</c> is in scope.</summary>
    private static async Task<Document> AddLayerAttributeAsync(Document document, FieldDeclarationSyntax field, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || model is null)
        {
            return document;
        }
        bool inScope = model.LookupNamespacesAndTypes(field.SpanStart, name: "LayerAttribute")
            .Any(s => s.ToDisplayString() == "CompiledNets.LayerAttribute");
        var attribute = SyntaxFactory.AttributeList(SyntaxFactory.SingletonSeparatedList(
                SyntaxFactory.Attribute(SyntaxFactory.ParseName(inScope ? "Layer" : "global::CompiledNets.Layer"))))
            .NormalizeWhitespace() // plain trivia, not elastic: the code action's formatter keeps it on the field's line
            .WithTrailingTrivia(SyntaxFactory.Space);
        var leading = field.GetLeadingTrivia();
        var fixedField = field.WithoutLeadingTrivia();
        fixedField = fixedField.WithAttributeLists(fixedField.AttributeLists.Insert(0, attribute)).WithLeadingTrivia(leading);
        return document.WithSyntaxRoot(root.ReplaceNode(field, fixedField));
    }
}
