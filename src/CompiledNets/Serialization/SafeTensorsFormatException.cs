namespace CompiledNets;

/// <summary>
/// A file is not a valid safetensors file, or holds something CompiledNets cannot read (e.g. a dtype other than <c>F32</c>).
/// Thrown by <see cref="SafeTensors.Load"/>, <see cref="StateDict.Load"/> and <see cref="Checkpoint.TryResume(string, Module, Optimizer?, Generator?, out CheckpointInfo?)"/>
/// before anything is returned or copied (PyTorch's <c>safetensors</c> package raises <c>SafetensorError</c>).
/// </summary>
public sealed class SafeTensorsFormatException : IOException
{
    /// <summary>Creates the exception for the file at <paramref name="path"/>.</summary>
    /// <param name="path">The file that was read.</param>
    /// <param name="problem">What is wrong, e.g. <c>header length 200 goes beyond the end of the file (120 bytes)</c>.</param>
    /// <param name="inner">The exception that revealed the problem, if any (e.g. a <see cref="System.Text.Json.JsonException"/>).</param>
    public SafeTensorsFormatException(string path, string problem, Exception? inner = null)
        : base($"'{path}' is not a valid safetensors file: {problem}", inner)
    {
        FilePath = path;
        Problem = problem;
    }

    /// <summary>The file that was read.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it, without the path.</summary>
    public string Problem { get; }
}
