using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace CompiledNets.Serialization;

/// <summary>
/// Writes the safetensors format (https://github.com/huggingface/safetensors#format): an 8-byte
/// little-endian header length N, a JSON header of N bytes padded with spaces to a multiple of 8 (as the
/// reference writer does), then each tensor's float32 values, little-endian, one after another.
/// </summary>
internal static class SafeTensorsWriter
{
    /// <summary>The JSON key of the free-form string map in a safetensors header.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>Writes <paramref name="tensors"/> (in their order) and <paramref name="metadata"/> to <paramref name="stream"/>.</summary>
    /// <exception cref="ArgumentException">A key is empty or <c>__metadata__</c>, or the header would exceed <see cref="SafeTensorsReader.MaxHeaderLength"/>.</exception>
    public static void Write(Stream stream, IReadOnlyList<KeyValuePair<string, Tensor>> tensors, IEnumerable<KeyValuePair<string, string>> metadata)
    {
        byte[] header = BuildHeader(tensors, metadata);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        byte[]? swapped = null;
        foreach (var (_, tensor) in tensors)
        {
            ReadOnlySpan<float> values = tensor.AsSpan();
            if (BitConverter.IsLittleEndian)
            {
                stream.Write(MemoryMarshal.AsBytes(values));
            }
            else
            {
                swapped = swapped is not null && swapped.Length >= values.Length * 4 ? swapped : new byte[values.Length * 4];
                for (int i = 0; i < values.Length; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(swapped.AsSpan(i * 4), values[i]);
                }
                stream.Write(swapped, 0, values.Length * 4);
            }
        }
    }

    private static byte[] BuildHeader(IReadOnlyList<KeyValuePair<string, Tensor>> tensors, IEnumerable<KeyValuePair<string, string>> metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping keeps non-ASCII names readable; the output is still plain JSON.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            bool anyMetadata = false;
            foreach (var (key, value) in metadata)
            {
                if (!anyMetadata)
                {
                    json.WriteStartObject(MetadataKey);
                    anyMetadata = true;
                }
                json.WriteString(key, value);
            }
            if (anyMetadata)
            {
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (key, tensor) in tensors)
            {
                if (string.IsNullOrEmpty(key) || key == MetadataKey)
                {
                    throw new ArgumentException($"'{key}' cannot be a tensor name in a safetensors file.", nameof(tensors));
                }
                long bytes = 4L * tensor.Numel;
                json.WriteStartObject(key);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (int d in tensor.Shape)
                {
                    json.WriteNumberValue(d);
                }
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        int padded = (buffer.WrittenCount + 7) / 8 * 8;
        if (padded > SafeTensorsReader.MaxHeaderLength)
        {
            throw new ArgumentException(
                $"The safetensors header would be {padded} bytes, over the limit of {SafeTensorsReader.MaxHeaderLength} bytes that readers accept.",
                nameof(tensors));
        }
        byte[] header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }
}
