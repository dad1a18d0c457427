namespace CompiledNets.Serialization;

/// <summary>
/// Replaces a file atomically: the content goes to a temporary file in the same folder, is flushed to
/// disk, and is then renamed over the target (a single <c>rename(2)</c> on Unix, <c>MoveFileEx</c> with
/// replace on Windows). A crash or a kill at any moment leaves either the old file or the new one, never a
/// half-written one; at worst a stray temporary file (<c>.NAME.*.tmp</c>) stays behind.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes the file at <paramref name="path"/> with <paramref name="write"/>, atomically.</summary>
    /// <exception cref="DirectoryNotFoundException">
    /// The folder of <paramref name="path"/> does not exist; the message names the path and the folder (not the temporary file).
    /// </exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' names no file.", nameof(path));
        if (!Directory.Exists(dir))
        {
            throw new DirectoryNotFoundException(
                $"Cannot save '{path}': its folder '{dir}' does not exist. Create the folder first (Directory.CreateDirectory) or save elsewhere.");
        }
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(tmp);
            }
            catch (IOException)
            {
                // The original exception matters more than a leftover temporary file.
            }
            catch (UnauthorizedAccessException)
            {
            }
            throw;
        }
    }
}
