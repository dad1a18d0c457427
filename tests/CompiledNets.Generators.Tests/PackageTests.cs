using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;
using Xunit.Abstractions;

namespace CompiledNets.Generators.Tests;

/// <summary>
/// The package as users get it: <c>dotnet pack</c> of this build into a temporary folder feed, a new console
/// app that references <c>CompiledNets</c> from that feed only (offline: nuget.config with <c>&lt;clear/&gt;</c>,
/// its own packages folder), a shape error reported at its file, line and column, then the fixed model
/// built with warnings as errors, nullable and <c>AnalysisLevel latest-all</c>, run, and its output checked.
/// </summary>
public sealed class PackageTests(ITestOutputHelper output)
{
    private static readonly string s_root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));

    private static readonly string s_configuration = typeof(PackageTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "Configuration").Value!;

    private const string Model = """
        using CompiledNets;

        namespace PackageSmoke;

        [Model]
        internal sealed partial class IrisNet
        {
            [Layer] private readonly Linear hidden = new(4, 10);
            [Layer] private readonly ReLU relu = new();
            [Layer] private readonly Linear output = new(12, 3);
        }
        """;

    private const string Program = """
        using System.Globalization;
        using CompiledNets;
        using PackageSmoke;

        Generator.Default.ManualSeed(42);
        var net = new IrisNet();
        Console.WriteLine(net);
        Console.WriteLine(net.ParameterCount.ToString(CultureInfo.InvariantCulture));
        var y = net.Eval().Forward(Tensor.FromArray([5.1f, 3.5f, 1.4f, 0.2f, 6.7f, 3.0f, 5.2f, 2.3f], 2, 4));
        Console.WriteLine(string.Join("x", y.Shape.ToArray()));
        Console.WriteLine(y.ToArray().All(float.IsFinite));
        """;

    [Fact]
    public void PackedPackageBuildsAndRunsAModelInANewApp()
    {
        string work = Path.Combine(Path.GetTempPath(), "compilednets-package-" + Guid.NewGuid().ToString("N")[..8]);
        string feed = Path.Combine(work, "feed");
        string app = Path.Combine(work, "app");
        Directory.CreateDirectory(feed);
        Directory.CreateDirectory(app);
        bool passed = false;
        try
        {
            // Pack what this test run was built from (the runtime, the generator and the code fixes are built already).
            Run(s_root, "pack", "src/CompiledNets/CompiledNets.csproj", "-c", s_configuration, "--no-build", "-o", feed, "-p:IncludeSymbols=false");
            string package = Assert.Single(Directory.GetFiles(feed, "CompiledNets.*.nupkg"));
            string version = Path.GetFileNameWithoutExtension(package)["CompiledNets.".Length..];
            using (var zip = ZipFile.OpenRead(package))
            {
                var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
                Assert.Contains("lib/net10.0/CompiledNets.dll", entries);
                Assert.Contains("analyzers/dotnet/cs/CompiledNets.Generators.dll", entries);
                Assert.Contains("analyzers/dotnet/cs/CompiledNets.CodeFixes.dll", entries);
                Assert.Contains("README.md", entries);
                Assert.Contains("icon.png", entries);
            }
            CopyDependencies(package, feed);

            File.WriteAllText(Path.Combine(app, "nuget.config"), """
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <config>
                    <add key="globalPackagesFolder" value="packages" />
                  </config>
                  <packageSources>
                    <clear />
                    <add key="feed" value="../feed" />
                  </packageSources>
                  <fallbackPackageFolders>
                    <clear />
                  </fallbackPackageFolders>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(app, "App.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                    <AnalysisLevel>latest-all</AnalysisLevel>
                    <!-- The folder feed has no vulnerability data to audit against. -->
                    <NuGetAudit>false</NuGetAudit>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="CompiledNets" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), Program);
            string modelPath = Path.Combine(app, "IrisNet.cs");
            File.WriteAllText(modelPath, Model);

            // 1. The shape error is a CN0002 at the argument '12': file, line and column as MSBuild prints them.
            var (failedCode, failedOutput) = Run(app, "build", "-c", "Release", expectSuccess: false);
            Assert.NotEqual(0, failedCode);
            int offset = Model.IndexOf("new(12, 3)", StringComparison.Ordinal) + "new(".Length;
            int line = Model[..offset].Count(c => c == '\n') + 1;
            int column = offset - Model.LastIndexOf('\n', offset - 1);
            var match = Regex.Match(failedOutput, @"^\s*(?<file>\S+IrisNet\.cs)\((?<line>\d+),(?<column>\d+)\): error (?<id>CN\d{4}): (?<message>.*?)(?: \[.*\])?$", RegexOptions.Multiline);
            Assert.True(match.Success, "a CN error in IrisNet.cs in:\n" + failedOutput);
            Assert.Equal("CN0002", match.Groups["id"].Value);
            Assert.Equal(Path.GetFullPath(modelPath), Path.GetFullPath(match.Groups["file"].Value));
            Assert.Equal((line, column), (int.Parse(match.Groups["line"].Value), int.Parse(match.Groups["column"].Value)));
            Assert.Equal("Layer 'output' expects 12 input features but the previous layer 'relu' produces 10 (https://github.com/compilednets/compilednets/blob/main/docs/diagnostics/CN0002.md)",
                match.Groups["message"].Value.Trim()); // MSBuild appends the help link
            Assert.DoesNotContain(".g.cs(", failedOutput); // nothing reported inside generated files

            // 2. Fixed: builds with warnings as errors and every analyzer on, runs, prints the net as PyTorch does.
            File.WriteAllText(modelPath, Model.Replace("new(12, 3)", "new(10, 3)"));
            Run(app, "build", "-c", "Release");
            var (_, printed) = Run(app, "run", "-c", "Release", "--no-build");
            Assert.Equal("""
                IrisNet(
                  (hidden): Linear(in_features=4, out_features=10, bias=True)
                  (relu): ReLU()
                  (output): Linear(in_features=10, out_features=3, bias=True)
                )
                83
                2x3
                True
                """, printed.Replace("\r\n", "\n").Trim());
            passed = true;
        }
        finally
        {
            if (passed)
            {
                Directory.Delete(work, recursive: true);
            }
            else
            {
                output.WriteLine("kept for inspection: " + work);
            }
        }
    }

    /// <summary>
    /// Copies the package's dependencies (for net10.0, transitively) from the machine's NuGet cache into the feed,
    /// so the app restores offline from that feed alone.
    /// </summary>
    private static void CopyDependencies(string package, string feed)
    {
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var pending = new Queue<string>([package]);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        while (pending.TryDequeue(out var nupkg))
        {
            foreach (var (id, version) in Net10Dependencies(nupkg))
            {
                if (!seen.Add(id + "/" + version))
                {
                    continue;
                }
                string source = Path.Combine(cache, id.ToLowerInvariant(), version, $"{id.ToLowerInvariant()}.{version}.nupkg");
                Assert.True(File.Exists(source), $"dependency {id} {version} is in the NuGet cache ({source})");
                string target = Path.Combine(feed, Path.GetFileName(source));
                File.Copy(source, target, overwrite: true);
                pending.Enqueue(target);
            }
        }
    }

    /// <summary>The dependencies a net10.0 project gets from a .nupkg: the nearest framework group's (exact minimum versions).</summary>
    private static IEnumerable<(string Id, string Version)> Net10Dependencies(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.OrdinalIgnoreCase) && !e.FullName.Contains('/'));
        using var stream = nuspec.Open();
        var dependencies = XDocument.Load(stream).Descendants().FirstOrDefault(e => e.Name.LocalName == "dependencies");
        if (dependencies is null)
        {
            return [];
        }
        var groups = dependencies.Elements().Where(e => e.Name.LocalName == "group").ToList();
        var chosen = groups.Count == 0 ? dependencies : new[] { "net10.0", "net9.0", "net8.0", "net7.0", "net6.0", ".NETStandard2.1", ".NETStandard2.0" }
            .Select(tfm => groups.FirstOrDefault(g => string.Equals((string?)g.Attribute("targetFramework"), tfm, StringComparison.OrdinalIgnoreCase)))
            .FirstOrDefault(g => g is not null);
        return chosen is null ? [] : chosen.Elements().Where(e => e.Name.LocalName == "dependency")
            .Select(e => ((string)e.Attribute("id")!, ((string)e.Attribute("version")!).Trim('[', ']', '(', ')').Split(',')[0].Trim()))
            .ToList();
    }

    /// <summary>Runs <c>dotnet</c> with <paramref name="arguments"/> in <paramref name="directory"/>; returns its exit code and output.</summary>
    private (int ExitCode, string Output) Run(string directory, params string[] arguments) => Run(directory, arguments, expectSuccess: true);

    private (int ExitCode, string Output) Run(string directory, string verb, string? a1 = null, string? a2 = null, bool expectSuccess = true) =>
        Run(directory, new[] { verb, a1, a2 }.OfType<string>().ToArray(), expectSuccess);

    private (int ExitCode, string Output) Run(string directory, string[] arguments, bool expectSuccess)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        if (arguments[0] is "build" or "pack")
        {
            // No compiler server or MSBuild nodes left behind by the test.
            start.ArgumentList.Add("-nodeReuse:false");
            start.ArgumentList.Add("-p:UseSharedCompilation=false");
        }
        // The test host runs under 'dotnet test' (MSBuild): do not let its MSBuild settings leak into the child build.
        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
            || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var text = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (text) text.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (text) text.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {string.Join(' ', arguments)} did not finish in 5 minutes:\n{text}");
        }
        process.WaitForExit();
        string result = text.ToString();
        output.WriteLine($"$ dotnet {string.Join(' ', arguments)}  (in {directory}, exit {process.ExitCode})");
        if (expectSuccess)
        {
            Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} failed with {process.ExitCode}:\n{result}");
        }
        return (process.ExitCode, result);
    }
}
