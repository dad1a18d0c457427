namespace CompiledNets.Tests;

/// <summary>
/// The test assembly's entry point. The test host does not use it; tests that need a child process
/// (e.g. <see cref="Serialization.CrashDuringSaveTests"/>) start this assembly with <c>dotnet exec</c> and a mode argument.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == Serialization.CrashDuringSaveTests.SaveLoopMode)
        {
            Serialization.CrashDuringSaveTests.SaveLoop(args[1]);
        }
        return 0;
    }
}
