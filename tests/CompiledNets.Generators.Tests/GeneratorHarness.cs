using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace CompiledNets.Generators.Tests;

/// <summary>Runs the generator offline on source text, against the runtime assembly and the framework's assemblies.</summary>
internal static class GeneratorHarness
{
    private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .Append(MetadataReference.CreateFromFile(typeof(CompiledNets.Module).Assembly.Location))
            .ToImmutableArray();
    });

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    public static CSharpCompilation Compile(params string[] sources) =>
        CSharpCompilation.Create("TestModels",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"Model{i}.cs")),
            s_references.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver CreateDriver() =>
        CSharpGeneratorDriver.Create(
            new[] { new ModelGenerator().AsSourceGenerator() },
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator; returns its diagnostics, the generated sources and the diagnostics of the compiled result.</summary>
    public static (ImmutableArray<Diagnostic> GeneratorDiagnostics, ImmutableArray<(string HintName, string Text)> Sources, ImmutableArray<Diagnostic> CompilationDiagnostics) Run(params string[] sources)
    {
        var compilation = Compile(sources);
        var driver = CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        var result = driver.GetRunResult();
        var generated = result.Results.SelectMany(r => r.GeneratedSources).Select(s => (s.HintName, s.SourceText.ToString())).ToImmutableArray();
        var errors = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToImmutableArray();
        return (diagnostics, generated, errors);
    }

    /// <summary>
    /// The source folder's <c>Snapshots</c>. The caller's path is the compiler's, which a CI build maps to <c>/_/</c>
    /// (<c>ContinuousIntegrationBuild</c>); then the folder is found by walking up from the test assembly's folder.
    /// </summary>
    private static string SnapshotDirectory(string callerPath)
    {
        string fromCaller = Path.Combine(Path.GetDirectoryName(callerPath) ?? "", "Snapshots");
        if (Directory.Exists(fromCaller))
        {
            return fromCaller;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "CompiledNets.Generators.Tests", "Snapshots");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException($"No Snapshots folder at '{fromCaller}' nor under any parent of '{AppContext.BaseDirectory}'.");
    }

    /// <summary>Compares <paramref name="actual"/> with <c>Snapshots/{name}.verified.cs</c>; on a difference writes <c>.received.cs</c> and fails. <c>ACCEPT_SNAPSHOTS=1</c> accepts.</summary>
    public static void Verify(string name, string actual, [CallerFilePath] string callerPath = "")
    {
        string dir = SnapshotDirectory(callerPath);
        string verified = Path.Combine(dir, name + ".verified.cs");
        string received = Path.Combine(dir, name + ".received.cs");
        // The generator's version is the package's (Directory.Build.props): a release must not change the snapshots.
        string version = typeof(ModelGenerator).Assembly.GetName().Version!.ToString();
        actual = actual.Replace("\r\n", "\n").Replace("\"CompiledNets.Generators\", \"" + version + "\")", "\"CompiledNets.Generators\", \"{version}\")");
        if (Environment.GetEnvironmentVariable("ACCEPT_SNAPSHOTS") == "1")
        {
            File.WriteAllText(verified, actual);
            File.Delete(received);
            return;
        }
        string expected = File.Exists(verified) ? File.ReadAllText(verified).Replace("\r\n", "\n") : "";
        if (expected == actual)
        {
            File.Delete(received);
            return;
        }
        File.WriteAllText(received, actual);
        var expectedLines = expected.Split('\n');
        var actualLines = actual.Split('\n');
        int line = 0;
        while (line < expectedLines.Length && line < actualLines.Length && expectedLines[line] == actualLines[line])
        {
            line++;
        }
        Xunit.Assert.Fail(
            $"Snapshot {name} differs at line {line + 1}:\n  expected: {(line < expectedLines.Length ? expectedLines[line] : "<end>")}\n  actual:   {(line < actualLines.Length ? actualLines[line] : "<end>")}\n" +
            $"Wrote {received}. Run the tests with ACCEPT_SNAPSHOTS=1 to accept.");
    }
}
