using System.Text;

namespace CompiledNets.Serialization;

/// <summary>
/// Recognises files of other kinds given where a safetensors file was expected — a PyTorch checkpoint written by
/// <c>torch.save</c> (a zip archive, or a pickle in the legacy format), a NumPy array, a text file — from their first
/// bytes, so the error can say what the file looks like and how to convert it.
/// </summary>
internal static class ForeignFile
{
    /// <summary>
    /// <c>"; it looks like … . To convert it: …"</c> for a file whose first bytes are <paramref name="head"/>, or
    /// <c>""</c> when they look like nothing known (e.g. a damaged safetensors file).
    /// </summary>
    public static string Describe(string path, ReadOnlySpan<byte> head)
    {
        string name = Path.GetFileName(path);
        string stem = Path.GetFileNameWithoutExtension(path);
        string torchHint =
            $" To convert it, in Python with PyTorch and the safetensors package: import torch; from safetensors.torch import save_file; " +
            $"save_file(torch.load(\"{name}\", map_location=\"cpu\"), \"{stem}.safetensors\") — for a training checkpoint, pass its " +
            "model's state dict instead (e.g. checkpoint[\"model_state_dict\"]); then StateDict.Load the .safetensors file.";
        if (head.StartsWith("PK\u0003\u0004"u8))
        {
            return "; it looks like a zip archive, which is what torch.save writes (.pt, .pth, .bin since PyTorch 1.6): " +
                   "a PyTorch pickle that CompiledNets does not read (unpickling can run code)." + torchHint;
        }
        if (head.Length >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5)
        {
            return $"; it looks like a Python pickle (protocol {head[1]}), e.g. a checkpoint written by torch.save in the legacy format " +
                   "(_use_new_zipfile_serialization=False) or by pickle.dump: CompiledNets does not read pickles (unpickling can run code)." + torchHint;
        }
        if (head.Length >= 6 && head[0] == 0x93 && head[1..6].SequenceEqual("NUMPY"u8))
        {
            return $"; it looks like a NumPy .npy array. To convert it: from safetensors.numpy import save_file; import numpy as np; " +
                   $"save_file({{\"weight\": np.load(\"{name}\").astype(np.float32)}}, \"{stem}.safetensors\") with the key your model expects.";
        }
        if (LooksLikeText(head))
        {
            string firstLine = Encoding.UTF8.GetString(head).Split('\n')[0].TrimEnd('\r');
            if (firstLine.Length > 40)
            {
                firstLine = firstLine[..40] + "…";
            }
            return $"; it looks like a text file (it starts with \"{firstLine}\"): a safetensors file is binary — an 8-byte header length, " +
                   "a JSON header, then the tensors' bytes. Write one with StateDict.Save, or from PyTorch with safetensors.torch.save_file(model.state_dict(), path).";
        }
        return "";
    }

    /// <summary>Whether the bytes are non-empty and hold no control characters other than tab, CR and LF (UTF-8 allowed).</summary>
    private static bool LooksLikeText(ReadOnlySpan<byte> head)
    {
        if (head.IsEmpty)
        {
            return false;
        }
        foreach (byte b in head)
        {
            if (b < 0x20 && b is not (byte)'\t' and not (byte)'\n' and not (byte)'\r')
            {
                return false;
            }
            if (b == 0x7F)
            {
                return false;
            }
        }
        return true;
    }
}
