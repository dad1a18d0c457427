using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace CompiledNets.Serialization;

/// <summary>
/// Reads and validates a safetensors file (https://github.com/huggingface/safetensors#format). The whole
/// header is checked before any tensor data is read or allocated, with the reference implementation's
/// rules: header length at most <see cref="MaxHeaderLength"/> and within the file; a JSON object; each
/// tensor with a known dtype, a shape of non-negative sizes and <c>data_offsets</c> whose length matches the
/// shape; the tensors tile the data section exactly (no overlap, gap, or byte out of range or left over).
/// Nothing in the file is ever executed.
/// </summary>
internal static class SafeTensorsReader
{
    /// <summary>The largest header accepted, in bytes (100 MB, as the reference implementation's <c>MAX_HEADER_SIZE</c>).</summary>
    public const long MaxHeaderLength = 100_000_000;

    private static readonly string[] s_knownDtypes =
        ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"];

    private readonly record struct Entry(string Name, int[] Shape, long Numel, ulong Begin, ulong End);

    /// <summary>Reads every tensor (in header order) and the <c>__metadata__</c> map of the file at <paramref name="path"/>.</summary>
    /// <exception cref="SafeTensorsFormatException">The file is malformed; the message names the problem and the path.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    public static StateDict Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        long fileLength = fs.Length;
        // The first bytes tell a file of another kind (a torch.save checkpoint, text) from a damaged safetensors file.
        byte[] head = new byte[(int)Math.Min(fileLength, 512)];
        fs.ReadExactly(head);
        fs.Position = Math.Min(fileLength, 8);
        if (fileLength < 8)
        {
            throw Fail(path, $"the file is {fileLength} bytes long; a safetensors file starts with an 8-byte header length (truncated file?)" + ForeignFile.Describe(path, head));
        }
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(head);
        if (headerLength > MaxHeaderLength)
        {
            throw Fail(path, $"the header length is {headerLength} bytes, over the limit of {MaxHeaderLength} bytes" + ForeignFile.Describe(path, head));
        }
        if (8 + (long)headerLength > fileLength)
        {
            throw Fail(path, $"the header length {headerLength} goes beyond the end of the file ({fileLength} bytes; truncated file?)" + ForeignFile.Describe(path, head));
        }
        byte[] header = new byte[headerLength];
        fs.ReadExactly(header);
        var dict = new StateDict { SourcePath = path };
        if (header.Length == 0 || header[0] != (byte)'{')
        {
            throw Fail(path, "the header does not start with '{' (not a safetensors file?)" + ForeignFile.Describe(path, head));
        }
        var entries = ParseHeader(path, header, dict.Metadata);
        ulong dataLength = (ulong)(fileLength - 8 - (long)headerLength);
        CheckLayout(path, entries, dataLength);

        // Read in file order; the layout check guarantees the entries tile the data section.
        var values = new float[entries.Count][];
        foreach (int i in Enumerable.Range(0, entries.Count).OrderBy(i => entries[i].Begin))
        {
            var data = new float[entries[i].Numel];
            try
            {
                fs.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
            }
            catch (EndOfStreamException e)
            {
                throw Fail(path, $"the file ended inside tensor '{entries[i].Name}' (was it changed while being read?)", e);
            }
            if (!BitConverter.IsLittleEndian)
            {
                Span<int> bits = MemoryMarshal.Cast<float, int>(data.AsSpan());
                BinaryPrimitives.ReverseEndianness(bits, bits);
            }
            values[i] = data;
        }
        for (int i = 0; i < entries.Count; i++)
        {
            dict.Add(entries[i].Name, Tensor.View(values[i], 0, entries[i].Shape));
        }
        return dict;
    }

    private static List<Entry> ParseHeader(string path, byte[] header, IDictionary<string, string> metadata)
    {
        if (header.Length == 0 || header[0] != (byte)'{')
        {
            throw Fail(path, "the header does not start with '{' (not a safetensors file?)");
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw Fail(path, $"the header is not valid JSON ({e.Message})", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Fail(path, "the header is not a JSON object");
            }
            var entries = new List<Entry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw Fail(path, $"the header has the key '{property.Name}' twice");
                }
                if (property.Name == SafeTensorsWriter.MetadataKey)
                {
                    ReadMetadata(path, property.Value, metadata);
                }
                else
                {
                    entries.Add(ReadEntry(path, property.Name, property.Value));
                }
            }
            return entries;
        }
    }

    private static void ReadMetadata(string path, JsonElement value, IDictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return;
        }
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Fail(path, $"__metadata__ is a JSON {value.ValueKind}, expected an object of strings");
        }
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw Fail(path, $"__metadata__ entry '{item.Name}' is a JSON {item.Value.ValueKind}, expected a string");
            }
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
            {
                throw Fail(path, $"__metadata__ has the key '{item.Name}' twice");
            }
        }
    }

    private static Entry ReadEntry(string path, string name, JsonElement info)
    {
        if (info.ValueKind != JsonValueKind.Object)
        {
            throw Fail(path, $"tensor '{name}': expected an object with dtype, shape and data_offsets, found a JSON {info.ValueKind}");
        }
        if (!info.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw Fail(path, $"tensor '{name}': missing or non-string 'dtype'");
        }
        string dtype = dtypeElement.GetString()!;
        if (dtype != "F32")
        {
            throw Fail(path, s_knownDtypes.Contains(dtype)
                ? $"tensor '{name}' has dtype {dtype}; CompiledNets reads F32 only (convert with tensor.float() before saving)"
                : $"tensor '{name}' has the unknown dtype '{dtype}'");
        }
        if (!info.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw Fail(path, $"tensor '{name}': missing or non-array 'shape'");
        }
        var shape = new int[shapeElement.GetArrayLength()];
        long numel = 1;
        int k = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt32(out int d) || d < 0)
            {
                throw Fail(path, $"tensor '{name}': shape {shapeElement.GetRawText()} holds {dim.GetRawText()}, expected sizes from 0 to {int.MaxValue}");
            }
            shape[k++] = d;
            numel *= d;
            if (numel > Array.MaxLength)
            {
                throw Fail(path, $"tensor '{name}': shape {shapeElement.GetRawText()} holds more elements than an array can");
            }
        }
        if (!info.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2
            || !TryGetOffset(offsets[0], out ulong begin) || !TryGetOffset(offsets[1], out ulong end))
        {
            string found = info.TryGetProperty("data_offsets", out var o) ? o.GetRawText() : "nothing";
            throw Fail(path, $"tensor '{name}': data_offsets should be [begin, end] with two non-negative integers, found {found}");
        }
        if (end < begin)
        {
            throw Fail(path, $"tensor '{name}': data_offsets [{begin}, {end}] end before they begin");
        }
        if (end - begin != (ulong)numel * 4)
        {
            throw Fail(path,
                $"tensor '{name}': shape {Tensor.ShapeString(shape)} of F32 needs {numel * 4} bytes but data_offsets [{begin}, {end}] span {end - begin}");
        }
        return new Entry(name, shape, numel, begin, end);
    }

    private static bool TryGetOffset(JsonElement e, out ulong value)
    {
        value = 0;
        return e.ValueKind == JsonValueKind.Number && e.TryGetUInt64(out value);
    }

    /// <summary>Checks that the tensors tile <c>[0, dataLength)</c> exactly, as the reference implementation's <c>validate</c> does.</summary>
    private static void CheckLayout(string path, List<Entry> entries, ulong dataLength)
    {
        ulong expected = 0;
        string? previous = null;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.End > dataLength)
            {
                throw Fail(path, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] go beyond the data section ({dataLength} bytes; truncated file?)");
            }
            if (e.Begin < expected)
            {
                throw Fail(path, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous}', which ends at {expected}");
            }
            if (e.Begin > expected)
            {
                throw Fail(path, previous is null
                    ? $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] leave bytes [0, {e.Begin}) of the data section unused"
                    : $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] leave a gap after tensor '{previous}', which ends at {expected}");
            }
            expected = e.End;
            previous = e.Name;
        }
        if (expected != dataLength)
        {
            throw Fail(path, string.Create(CultureInfo.InvariantCulture,
                $"the tensors cover {expected} bytes but the data section has {dataLength} (trailing bytes after the last tensor)"));
        }
    }

    private static SafeTensorsFormatException Fail(string path, string problem, Exception? inner = null) => new(path, problem, inner);
}
