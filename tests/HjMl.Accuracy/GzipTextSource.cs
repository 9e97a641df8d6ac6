using System.IO.Compression;
using Microsoft.ML.Data;

namespace HjMl.Accuracy;

/// <summary>
/// One CSV file for ML.NET's TextLoader, read through <see cref="GZipStream"/> when its name ends in .gz, so
/// mnist-10000.csv.gz is loaded the way a plain CSV is, without a decompressed copy on disk.
/// </summary>
internal sealed class GzipTextSource(string path) : IMultiStreamSource
{
    public int Count => 1;

    public string GetPathOrNull(int index) => path;

    public Stream Open(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(index, 0);
        Stream file = File.OpenRead(path);
        return path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
    }

    public TextReader OpenTextReader(int index) => new StreamReader(Open(index));
}
