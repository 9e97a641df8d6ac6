using System.Buffers.Binary;
using System.Reflection;
using System.Security.Cryptography;
using HjMl.Models;

namespace HjMl.Persistence;

/// <summary>
/// HjMl's own file format for a <see cref="HopfColeModel"/>: versioned, self-describing, checksummed and written
/// atomically. Saving then loading gives back the same doubles, bit for bit.
/// </summary>
/// <remarks>
/// <para>Layout (little-endian), format version 1 (a single layer; a model with a flow is written as version 2, which adds the flow's shape and parameters to the payload, and one whose flow starts with a periodic feature embedding as version 3, which adds the embedding's sizes and features):</para>
/// <list type="table">
/// <listheader><term>bytes</term><description>content</description></listheader>
/// <item><term>0–7</term><description>signature 89 48 4A 4D 4C 0D 0A 1A ("\x89HJML\r\n\x1A")</description></item>
/// <item><term>8–11</term><description>format version (uint32)</description></item>
/// <item><term>12–19</term><description>payload length in bytes (int64)</description></item>
/// <item><term>20–51</term><description>SHA-256 of bytes 0–19 followed by the payload</description></item>
/// <item><term>52–</term><description>payload: kind, d, K heads, N pieces, the flow's shape (version 2: depth 0 for none; version 3: with the embedding, any depth), eps, t, label mean and scale, feature names,
/// class labels, standardisation means and scales, weights, biases, support rows (training-row provenance), and a
/// string-to-string metadata map (options, versions; <see cref="ModelFileContents.Metadata"/>)</description></item>
/// </list>
/// <para>
/// Loading never creates types by name. Every count is checked against the bytes that remain before anything is
/// allocated, and a file that is empty, truncated, has trailing bytes, a wrong signature, a newer format version, a
/// checksum that does not match, or contents the model's own validation rejects raises an
/// <see cref="InvalidDataException"/> that names the file and says what is wrong.
/// </para>
/// </remarks>
public static class ModelFile
{
    /// <summary>The newest format version this library reads and writes (for models with an embedded flow; other flows are written as version 2 and single-layer models as version 1, which every HjMl reads).</summary>
    public const int NewestFormatVersion = 3;

    /// <summary>Bytes before the payload: signature, version, payload length and checksum.</summary>
    internal const int HeaderLength = 52;

    /// <summary>The metadata key under which <see cref="Save(HopfColeModel, string, IReadOnlyDictionary{string, string}?)"/> records the HjMl version that wrote the file.</summary>
    public const string WriterVersionKey = "hjml.version";

    // A PNG-style signature: the high-bit first byte catches 7-bit transfers, CR LF catches line-ending conversion,
    // and 0x1A stops a DOS 'type' from printing the binary rest.
    private static readonly byte[] Signature = [0x89, (byte)'H', (byte)'J', (byte)'M', (byte)'L', 0x0D, 0x0A, 0x1A];

    private const int ChecksumOffset = 20;
    private const int ChecksumLength = 32;

    /// <summary>The HjMl version that writes files (the assembly's informational version).</summary>
    public static string LibraryVersion { get; } =
        typeof(ModelFile).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(ModelFile).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    /// <summary>
    /// Saves <paramref name="model"/> to <paramref name="path"/> atomically: the bytes go to a temporary file in the same
    /// directory, which is flushed to disk and then moved over <paramref name="path"/>; if anything fails the previous
    /// file is left intact.
    /// </summary>
    /// <param name="model">The model to save.</param>
    /// <param name="path">The destination; its directory must exist.</param>
    /// <param name="metadata">Optional string pairs stored with the model (e.g. training options); <see cref="WriterVersionKey"/> is added unless given.</param>
    public static void Save(HopfColeModel model, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = ToBytes(model, metadata);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="stream"/> in the model file format.</summary>
    public static void Save(HopfColeModel model, Stream stream, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(ToBytes(model, metadata));
    }

    /// <summary>Whether the file at <paramref name="path"/> starts with the model file signature (it may still be damaged further on).</summary>
    public static bool HasSignature(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Span<byte> start = stackalloc byte[8];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false) == start.Length && start.SequenceEqual(Signature);
    }

    /// <summary>Loads the model saved at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid HjMl model file; the message says why.</exception>
    public static HopfColeModel Load(string path) => Read(path).Model;

    /// <summary>Loads a model from <paramref name="stream"/>, read from its current position to its end.</summary>
    /// <param name="stream">The stream.</param>
    /// <param name="source">How messages name the stream.</param>
    /// <exception cref="InvalidDataException">The bytes are not a valid HjMl model file; the message says why.</exception>
    public static HopfColeModel Load(Stream stream, string source = "stream") => Read(stream, source).Model;

    /// <summary>Reads the model file at <paramref name="path"/> with its metadata and format version.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid HjMl model file; the message says why.</exception>
    public static ModelFileContents Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The model file '{path}' does not exist.", path);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Read(stream, path);
    }

    /// <summary>Reads a model file from <paramref name="stream"/> (current position to end) with its metadata and format version.</summary>
    /// <param name="stream">The stream.</param>
    /// <param name="source">How messages name the stream.</param>
    /// <exception cref="InvalidDataException">The bytes are not a valid HjMl model file; the message says why.</exception>
    public static ModelFileContents Read(Stream stream, string source = "stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(source);
        Span<byte> header = stackalloc byte[HeaderLength];
        int headerBytes = stream.ReadAtLeast(header, HeaderLength, throwOnEndOfStream: false);
        int compared = Math.Min(headerBytes, Signature.Length);
        if (headerBytes == 0)
        {
            throw Invalid(source, "the file is empty; an HjMl model file starts with a 52-byte header.");
        }

        if (!header[..compared].SequenceEqual(Signature.AsSpan(0, compared)))
        {
            throw Invalid(source, $"it does not start with the HjMl model file signature {Convert.ToHexString(Signature)} (it starts {Convert.ToHexString(header[..compared])}), so it is not an HjMl model file.");
        }

        if (headerBytes < HeaderLength)
        {
            throw Invalid(source, $"the file is truncated: it has {headerBytes} bytes, fewer than the {HeaderLength}-byte header.");
        }

        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version > NewestFormatVersion)
        {
            throw Invalid(source, $"the file has format version {version}, but this HjMl ({LibraryVersion}) reads versions up to {NewestFormatVersion}; load it with a newer HjMl.");
        }

        if (version == 0)
        {
            throw Invalid(source, "the header gives format version 0, which no HjMl writes; the header is damaged.");
        }

        long payloadLength = BinaryPrimitives.ReadInt64LittleEndian(header[12..]);
        if (payloadLength < 0 || payloadLength > Array.MaxLength)
        {
            throw Invalid(source, $"the header gives a payload of {payloadLength} bytes, outside [0, {Array.MaxLength}]; the header is damaged.");
        }

        byte[] payload = ReadPayload(stream, payloadLength, source);
        Span<byte> checksum = stackalloc byte[ChecksumLength];
        Checksum(header[..ChecksumOffset], payload, checksum);
        if (!checksum.SequenceEqual(header.Slice(ChecksumOffset, ChecksumLength)))
        {
            throw Invalid(source, $"the SHA-256 checksum does not match (stored {Convert.ToHexString(header.Slice(ChecksumOffset, ChecksumLength))}, computed {Convert.ToHexString(checksum)}); the file is corrupted.");
        }

        (HopfColeModel model, IReadOnlyDictionary<string, string> metadata) = ModelPayload.Read(payload, source, (int)version);
        return new ModelFileContents(model, metadata, (int)version);
    }

    /// <summary>The complete file bytes for <paramref name="model"/>: header, checksum and payload.</summary>
    internal static byte[] ToBytes(HopfColeModel model, IReadOnlyDictionary<string, string>? metadata)
    {
        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (metadata is not null)
        {
            foreach ((string key, string value) in metadata)
            {
                if (string.IsNullOrEmpty(key) || value is null)
                {
                    throw new ArgumentException($"metadata has the entry '{key}' = '{value}'; keys must be non-empty and values not null.", nameof(metadata));
                }

                entries[key] = value;
            }
        }

        entries.TryAdd(WriterVersionKey, LibraryVersion);
        return Frame(ModelPayload.Write(model, entries), (uint)ModelPayload.FormatVersion(model));
    }

    /// <summary>Puts the header and checksum in front of <paramref name="payload"/>; tests use it to build hostile files with valid checksums.</summary>
    internal static byte[] Frame(ReadOnlySpan<byte> payload, uint version)
    {
        var bytes = new byte[HeaderLength + payload.Length];
        Signature.CopyTo(bytes, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), version);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(12), payload.Length);
        payload.CopyTo(bytes.AsSpan(HeaderLength));
        Checksum(bytes.AsSpan(0, ChecksumOffset), payload, bytes.AsSpan(ChecksumOffset, ChecksumLength));
        return bytes;
    }

    // The checksum covers the signature, version and length as well as the payload, so a damaged header field that
    // still looks plausible is caught too.
    private static void Checksum(ReadOnlySpan<byte> headerFields, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(headerFields);
        hash.AppendData(payload);
        hash.GetHashAndReset(destination);
    }

    private static byte[] ReadPayload(Stream stream, long payloadLength, string source)
    {
        if (stream.CanSeek)
        {
            // The length on disk bounds the allocation: a header that claims gigabytes in a small file is refused here.
            long remaining = stream.Length - stream.Position;
            if (remaining < payloadLength)
            {
                throw Invalid(source, $"the file is truncated: the header promises a {payloadLength}-byte payload but {remaining} bytes follow it.");
            }

            if (remaining > payloadLength)
            {
                throw Invalid(source, $"{remaining - payloadLength} unexpected bytes follow the {payloadLength}-byte payload; the file is corrupted.");
            }

            var payload = new byte[payloadLength];
            stream.ReadExactly(payload);
            return payload;
        }

        // An unseekable stream's length is unknown, so grow the buffer only as bytes actually arrive.
        using var collected = new MemoryStream();
        var chunk = new byte[81920];
        while (collected.Length < payloadLength)
        {
            int wanted = (int)Math.Min(chunk.Length, payloadLength - collected.Length);
            int read = stream.Read(chunk, 0, wanted);
            if (read == 0)
            {
                throw Invalid(source, $"the file is truncated: the header promises a {payloadLength}-byte payload but {collected.Length} bytes follow it.");
            }

            collected.Write(chunk, 0, read);
        }

        if (stream.ReadByte() >= 0)
        {
            throw Invalid(source, $"unexpected bytes follow the {payloadLength}-byte payload; the file is corrupted.");
        }

        return collected.ToArray();
    }

    private static InvalidDataException Invalid(string source, string problem) => new($"{source}: not a valid HjMl model file: {problem}");
}

/// <summary>What a model file holds: the model, its metadata, and the format version it was written in.</summary>
/// <param name="Model">The model.</param>
/// <param name="Metadata">String pairs stored with the model, in ordinal key order (always includes <see cref="ModelFile.WriterVersionKey"/> for files HjMl wrote).</param>
/// <param name="FormatVersion">The file's format version.</param>
public sealed record ModelFileContents(HopfColeModel Model, IReadOnlyDictionary<string, string> Metadata, int FormatVersion);
