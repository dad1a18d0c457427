using CompiledNets.Serialization;

namespace CompiledNets;

/// <summary>
/// Saves and loads <see cref="StateDict"/>s as safetensors files
/// (https://github.com/huggingface/safetensors#format; PyTorch: <c>safetensors.torch.save_file</c> and
/// <c>load_file</c>). Keys and weight layout are PyTorch's, so a file moves between CompiledNets and
/// PyTorch unchanged. Tensors are stored as <c>F32</c>; <see cref="StateDict.Metadata"/> is the header's
/// <c>__metadata__</c> string map.
/// </summary>
public static class SafeTensors
{
    /// <summary>
    /// Writes <paramref name="stateDict"/> to <paramref name="path"/> atomically: the file is written to a
    /// temporary file in the same folder, flushed to disk and renamed over <paramref name="path"/>, so a crash
    /// never leaves a half-written file in place of the previous one.
    /// </summary>
    /// <param name="path">The file to create or replace, e.g. <c>model.safetensors</c>.</param>
    /// <param name="stateDict">The tensors, written in their order, and the metadata.</param>
    /// <exception cref="ArgumentException">A key is empty or <c>__metadata__</c>, or the header would exceed 100 MB.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder of <paramref name="path"/> does not exist (checked before anything is written).</exception>
    /// <exception cref="IOException">The file cannot be written (e.g. no permission, disk full).</exception>
    public static void Save(string path, StateDict stateDict)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(stateDict);
        var tensors = stateDict.ToList();
        foreach (var (_, t) in tensors)
        {
            t.ThrowIfStale();
        }
        AtomicFile.Write(path, stream => SafeTensorsWriter.Write(stream, tensors, stateDict.Metadata));
    }

    /// <summary>
    /// Reads a safetensors file. The whole header is validated before any tensor is read: nothing is
    /// returned from a malformed file.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <returns>The tensors in the header's order, with the header's <c>__metadata__</c> in <see cref="StateDict.Metadata"/>.</returns>
    /// <exception cref="SafeTensorsFormatException">
    /// The file is truncated, its header length is beyond the file or over 100 MB, the header is not a JSON
    /// object, a tensor has a dtype other than <c>F32</c>, a shape that does not match its data offsets, or
    /// offsets that overlap, leave gaps or go out of range; the message names the problem and the path. When the first
    /// bytes show a file of another kind (a <c>torch.save</c> zip or pickle, a NumPy <c>.npy</c>, text), the message says
    /// what it looks like and how to convert it to safetensors.
    /// </exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static StateDict Load(string path) => SafeTensorsReader.Read(path);
}
