using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace CompiledNets.Tests.Serialization;

/// <summary>
/// A child process saves a checkpoint-sized file in a loop and is killed at an arbitrary moment; the file
/// must still load, holding one whole save.
/// </summary>
public class CrashDuringSaveTests
{
    internal const string SaveLoopMode = "--save-loop";
    private const int Values = 1 << 18; // 1 MiB of data per save, so kills land inside writes too

    /// <summary>Runs in the child: saves forever, every tensor filled with the iteration number, and reports each save.</summary>
    internal static void SaveLoop(string path)
    {
        var weight = new Tensor(Values / 256, 256);
        var bias = new Tensor(Values / 1024);
        for (int i = 1; ; i++)
        {
            weight.AsSpan().Fill(i);
            bias.AsSpan().Fill(-i);
            var dict = new StateDict { { "weight", weight }, { "bias", bias } };
            dict.Metadata["iteration"] = i.ToString(CultureInfo.InvariantCulture);
            dict.Save(path);
            Console.Out.WriteLine(i);
            Console.Out.Flush();
        }
    }

    [Fact]
    public void KillingTheProcessDuringSaves_LeavesALoadableFileWithOneWholeSave()
    {
        using var dir = new TempDir();
        string path = dir.File("loop.safetensors");
        var random = new Random(12345);
        for (int round = 0; round < 3; round++)
        {
            int lastReported = RunAndKill(path, savesBeforeKill: 3 + round * 4, extraDelayMs: random.Next(0, 15));

            var dict = StateDict.Load(path);
            int iteration = int.Parse(dict.Metadata["iteration"], CultureInfo.InvariantCulture);
            Assert.True(iteration >= lastReported, $"round {round}: file holds save {iteration}, but save {lastReported} had completed");
            Assert.All(dict["weight"].ToArray(), v => Assert.Equal(iteration, v));
            Assert.All(dict["bias"].ToArray(), v => Assert.Equal(-iteration, v));
        }
    }

    private static int RunAndKill(string path, int savesBeforeKill, int extraDelayMs)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(typeof(CrashDuringSaveTests).Assembly.Location);
        start.ArgumentList.Add(SaveLoopMode);
        start.ArgumentList.Add(path);
        using var child = Process.Start(start) ?? throw new InvalidOperationException("could not start the child process");
        int last = 0;
        try
        {
            var watch = Stopwatch.StartNew();
            while (last < savesBeforeKill)
            {
                var line = child.StandardOutput.ReadLineAsync();
                if (!line.Wait(TimeSpan.FromSeconds(60)) || line.Result is null)
                {
                    Assert.Fail($"the child stopped reporting saves after {last} ({watch.Elapsed}); stderr: {child.StandardError.ReadToEnd()}");
                }
                last = int.Parse(line.Result!, CultureInfo.InvariantCulture);
            }
            Thread.Sleep(extraDelayMs);
        }
        finally
        {
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
        }
        return last;
    }

    /// <summary>The dotnet host running the tests (the test host runs under it), else the one on PATH.</summary>
    private static string DotnetHost()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromEnv) && File.Exists(fromEnv))
        {
            return fromEnv;
        }
        string? self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }
        return "dotnet";
    }
}
