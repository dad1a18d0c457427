using System.Collections;
using System.Reflection;
using CompiledNets.Generators.Model;
using CompiledNets.Generators.Planning;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace CompiledNets.Generators.Tests;

/// <summary>The pipeline's cached values compare by content and hold no Roslyn objects, so unrelated edits hit the cache.</summary>
public class IncrementalTests
{
    [Fact]
    public void AnEditElsewhereLeavesEveryStepCachedOrUnchanged()
    {
        var compilation = GeneratorHarness.Compile(SnapshotTests.IrisNet, "public class Other { public int X; }");
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);

        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Last(),
            CSharpSyntaxTree.ParseText("public class Other { public int X; public int Y; }", GeneratorHarness.ParseOptions, path: "Model1.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        foreach (string step in new[] { TrackingNames.Parse, TrackingNames.Plan, TrackingNames.Diagnostics, TrackingNames.Emit })
        {
            var outputs = result.TrackedSteps[step].SelectMany(s => s.Outputs).ToList();
            Assert.NotEmpty(outputs);
            Assert.All(outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                $"{step} was {o.Reason}"));
        }
        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs)
            .Where(o => o.Value is not ValueTuple<EquatableArray<DiagnosticInfo>, Compilation>),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"an output was {o.Reason}"));
    }

    [Fact]
    public void EditingALayerRegeneratesTheModel()
    {
        var compilation = GeneratorHarness.Compile(SnapshotTests.IrisNet);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Single(),
            CSharpSyntaxTree.ParseText(SnapshotTests.IrisNet.Replace("new(10, 3)", "new(10, 5)"), GeneratorHarness.ParseOptions, path: "Model0.cs"));
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();
        Assert.Contains(result.TrackedSteps[TrackingNames.Plan].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("public const int OutFeatures = 5;", result.GeneratedSources.Single().SourceText.ToString());
    }

    [Fact]
    public void EqualSourcesGiveEqualSpecsAndPlans()
    {
        List<PlanResult> PlansOf(string src)
        {
            var result = GeneratorHarness.CreateDriver().RunGenerators(GeneratorHarness.Compile(src)).GetRunResult().Results.Single();
            return result.TrackedSteps[TrackingNames.Plan].SelectMany(s => s.Outputs).Select(o => (PlanResult)o.Value).ToList();
        }
        var a = PlansOf(SnapshotTests.NestedNet);
        var b = PlansOf(SnapshotTests.NestedNet);
        Assert.Equal(2, a.Count);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.NotSame(a[i], b[i]);
            Assert.Equal(a[i], b[i]);
            Assert.Equal(a[i].GetHashCode(), b[i].GetHashCode());
        }
    }

    [Fact]
    public void NoCachedValueHoldsARoslynObject()
    {
        var result = GeneratorHarness.CreateDriver().RunGenerators(GeneratorHarness.Compile(SnapshotTests.NestedNet)).GetRunResult().Results.Single();
        foreach (string step in new[] { TrackingNames.Parse, TrackingNames.Plan, TrackingNames.Diagnostics, TrackingNames.Emit })
        {
            foreach (var output in result.TrackedSteps[step].SelectMany(s => s.Outputs))
            {
                AssertNoRoslynObjects(output.Value, new HashSet<object>(ReferenceEqualityComparer.Instance), step);
            }
        }
    }

    [Fact]
    public void RuntimeTypesAreResolvedOncePerCompilation()
    {
        var compilation = GeneratorHarness.Compile(SnapshotTests.IrisNet);
        var known = Parsing.KnownTypeSymbols.For(compilation);
        Assert.Same(known, Parsing.KnownTypeSymbols.For(compilation));
        Assert.NotSame(known, Parsing.KnownTypeSymbols.For(compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("class Other { }", GeneratorHarness.ParseOptions))));
        foreach (var (symbol, name) in new[] { (known.ModelAttribute, "ModelAttribute"), (known.LayerAttribute, "LayerAttribute"), (known.Module, "Module"),
            (known.Linear, "Linear"), (known.ReLU, "ReLU"), (known.Dropout, "Dropout"), (known.Sigmoid, "Sigmoid"), (known.Tanh, "Tanh"), (known.Softmax, "Softmax"), (known.LogSoftmax, "LogSoftmax") })
        {
            Assert.NotNull(symbol);
            Assert.Equal("CompiledNets." + name, symbol!.ToDisplayString());
            Assert.Equal(typeof(CompiledNets.Module).Assembly.GetName().Name, symbol.ContainingAssembly.Name);
        }
        var tree = compilation.SyntaxTrees.Single();
        Assert.Same(Parsing.KnownTypeSymbols.SemanticModelFor(compilation, tree), Parsing.KnownTypeSymbols.SemanticModelFor(compilation, tree));
    }

    internal static void AssertNoRoslynObjects(object? value, HashSet<object> seen, string path)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum || !seen.Add(value))
        {
            return;
        }
        var type = value.GetType();
        Assert.False(value is ISymbol or SyntaxNode or Compilation or SemanticModel or Location or SyntaxTree,
            $"{path} holds a {type.Name}");
        if (value is IEnumerable items)
        {
            int i = 0;
            foreach (var item in items)
            {
                AssertNoRoslynObjects(item, seen, $"{path}[{i++}]");
            }
        }
        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            AssertNoRoslynObjects(field.GetValue(value), seen, path + "." + field.Name);
        }
    }
}
