using System.Buffers.Binary;
using HjMl.Models;
using HjMl.Persistence;
using HjMl.Tests.Support;

namespace HjMl.Tests.Persistence;

public sealed class ModelFileTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("hjml-model-file-").FullName;

    public static TheoryData<string> Kinds => ["regression", "binary", "multiclass", "multiclass-tropical"];

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void SaveThenLoadIsBitExact(string kind)
    {
        HopfColeModel model = Model(kind);
        string path = Path.Combine(folder, "model.hjml");
        ModelFile.Save(model, path);
        HopfColeModel loaded = ModelFile.Load(path);
        AssertBitIdentical(model, loaded);
    }

    [Fact]
    public void StreamRoundTripIsBitExactAndKeepsMetadata()
    {
        HopfColeModel model = Model("binary");
        using var stream = new MemoryStream();
        ModelFile.Save(model, stream, new Dictionary<string, string> { ["trainer.epochs"] = "40", ["note"] = "ünïcödé ✓" });
        stream.Position = 0;
        ModelFileContents contents = ModelFile.Read(stream);
        AssertBitIdentical(model, contents.Model);
        Assert.Equal(1, contents.FormatVersion); // single-layer files keep version 1 so that every HjMl reads them
        Assert.Equal(3, ModelFile.NewestFormatVersion);
        Assert.Equal("40", contents.Metadata["trainer.epochs"]);
        Assert.Equal("ünïcödé ✓", contents.Metadata["note"]);
        Assert.Equal(ModelFile.LibraryVersion, contents.Metadata[ModelFile.WriterVersionKey]);
    }

    [Fact]
    public void SavingTwiceWritesIdenticalBytes()
    {
        HopfColeModel model = Model("multiclass");
        Assert.Equal(ModelFile.ToBytes(model, null), ModelFile.ToBytes(model, null));
    }

    [Fact]
    public void SaveReplacesAnExistingFileAndLeavesNoTemporaryFile()
    {
        string path = Path.Combine(folder, "model.hjml");
        ModelFile.Save(Model("binary"), path);
        ModelFile.Save(Model("regression"), path);
        Assert.Equal(ModelKind.Regression, ModelFile.Load(path).Kind);
        Assert.Equal(["model.hjml"], Directory.GetFiles(folder).Select(Path.GetFileName));
    }

    [Fact]
    public void AFailedWriteLeavesThePreviousFileIntact()
    {
        string path = Path.Combine(folder, "model.hjml");
        ModelFile.Save(Model("binary"), path);
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(before.AsSpan(0, before.Length / 2));
            throw new IOException("disk full (simulated)");
        }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["model.hjml"], Directory.GetFiles(folder).Select(Path.GetFileName));
    }

    [Fact]
    public void SavingIntoAMissingDirectoryNamesTheDirectory()
    {
        string path = Path.Combine(folder, "missing", "model.hjml");
        var problem = Assert.Throws<DirectoryNotFoundException>(() => ModelFile.Save(Model("binary"), path));
        Assert.Contains(Path.Combine(folder, "missing"), problem.Message);
    }

    [Fact]
    public void EveryTruncationIsRejected()
    {
        byte[] bytes = ModelFile.ToBytes(Model("tiny"), null);
        for (int length = 0; length < bytes.Length; length++)
        {
            InvalidDataException problem = Rejected(bytes.AsSpan(0, length).ToArray());
            Assert.Contains(length == 0 ? "empty" : "truncated", problem.Message);
        }
    }

    [Fact]
    public void EveryFlippedByteIsRejected()
    {
        byte[] bytes = ModelFile.ToBytes(Model("tiny"), null);
        for (int position = 0; position < bytes.Length; position++)
        {
            byte[] damaged = (byte[])bytes.Clone();
            damaged[position] ^= 0x10;
            Rejected(damaged);
        }
    }

    [Fact]
    public void AFlippedPayloadByteIsAChecksumMismatch()
    {
        byte[] bytes = ModelFile.ToBytes(Model("tiny"), null);
        bytes[^10] ^= 0x01;
        Assert.Contains("checksum does not match", Rejected(bytes).Message);
    }

    [Fact]
    public void TrailingBytesAreRejected()
    {
        byte[] bytes = [.. ModelFile.ToBytes(Model("tiny"), null), 0];
        Assert.Contains("1 unexpected bytes follow", Rejected(bytes).Message);
    }

    [Fact]
    public void WrongSignatureSaysItIsNotAModelFile()
    {
        byte[] onnxLike = [0x08, 0x08, 0x12, 0x04, (byte)'h', (byte)'j', (byte)'m', (byte)'l', 0, 0, 0, 0];
        Assert.Contains("is not an HjMl model file", Rejected(onnxLike).Message);
    }

    [Fact]
    public void NewerVersionNamesTheVersionFoundAndTheNewestSupported()
    {
        byte[] bytes = ModelFile.ToBytes(Model("tiny"), null);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 7);
        string message = Rejected(bytes).Message;
        Assert.Contains("format version 7", message);
        Assert.Contains($"reads versions up to {ModelFile.NewestFormatVersion}", message);
    }

    [Fact]
    public void AHugePayloadLengthIsRejectedBeforeAllocating()
    {
        byte[] bytes = ModelFile.ToBytes(Model("tiny"), null);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(12), 1L << 40);
        Assert.Contains("outside [0,", Rejected(bytes).Message);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(12), int.MaxValue / 2);
        Assert.Contains("truncated", Rejected(bytes).Message);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => ModelFile.Read(new UnseekableStream(bytes))).Message);
    }

    [Fact]
    public void AbsurdDimensionsWithAValidChecksumAreRejectedBeforeAllocating()
    {
        byte[] payload = TinyPayload();
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(1), int.MaxValue);
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(5), int.MaxValue);
        string message = Rejected(ModelFile.Frame(payload, 1)).Message;
        Assert.Contains("d = 2147483647, K = 2147483647", message);
        Assert.Contains("bytes remain", message);
    }

    [Fact]
    public void AnUnknownKindIsNamed()
    {
        byte[] payload = TinyPayload();
        payload[0] = 9;
        Assert.Contains("the model kind is 9", Rejected(ModelFile.Frame(payload, 1)).Message);
    }

    [Theory]
    [InlineData(1, 0, "the input dimension d is 0")]
    [InlineData(5, -1, "the number of heads K is -1")]
    [InlineData(9, -5, "the number of pieces per head N is -5")]
    public void NonPositiveDimensionsAreNamed(int offset, int value, string expected)
    {
        byte[] payload = TinyPayload();
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(offset), value);
        Assert.Contains(expected, Rejected(ModelFile.Frame(payload, 1)).Message);
    }

    [Fact]
    public void AHostileStringLengthIsRejected()
    {
        byte[] payload = TinyPayload();

        // The first feature name's length follows kind (1), d, K, N (12), four doubles (32) and the name count (4).
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(49), int.MaxValue);
        Assert.Contains("bytes in feature name 0", Rejected(ModelFile.Frame(payload, 1)).Message);
    }

    [Fact]
    public void AStoredModelThatFailsValidationIsInvalidData()
    {
        byte[] payload = TinyPayload();

        // eps is the first double, at byte 13: a negative viscosity passes the checksum but not the layer's validation.
        BinaryPrimitives.WriteDoubleLittleEndian(payload.AsSpan(13), -1.0);
        var problem = Rejected(ModelFile.Frame(payload, 1));
        Assert.Contains("the model it holds is invalid", problem.Message);
        Assert.IsType<ArgumentException>(problem.InnerException);
    }

    [Fact]
    public void LoadingAMissingFileNamesIt()
    {
        string path = Path.Combine(folder, "absent.hjml");
        Assert.Contains(path, Assert.Throws<FileNotFoundException>(() => ModelFile.Load(path)).Message);
    }

    internal static HopfColeModel Model(string kind) => kind switch
    {
        "regression" => PrototypeModels.Regression(TestData.Load("diabetes.csv"), pieces: 40, viscosity: 0.5, time: 0.75),
        "binary" => PrototypeModels.Classifier(TestData.Load("breast_cancer.csv"), perClass: 12, viscosity: 0.3),
        "multiclass" => PrototypeModels.Classifier(TestData.Load("iris.csv"), perClass: 5, viscosity: 0.1, time: 2),
        "multiclass-tropical" => PrototypeModels.Classifier(TestData.Load("digits.csv"), perClass: 3, viscosity: 0),
        "tiny" => PrototypeModels.Classifier(TestData.Load("iris.csv"), perClass: 1, viscosity: 0.2),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no such test model"),
    };

    private static byte[] TinyPayload() => ModelFile.ToBytes(Model("tiny"), null)[ModelFile.HeaderLength..];

    private static InvalidDataException Rejected(byte[] bytes)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        return Assert.Throws<InvalidDataException>(() => ModelFile.Read(stream, "test.hjml"));
    }

    private static void AssertBitIdentical(HopfColeModel expected, HopfColeModel actual)
    {
        Assert.Equal(expected.Kind, actual.Kind);
        Assert.Equal(expected.FeatureNames, actual.FeatureNames);
        Assert.Equal(expected.SupportRows, actual.SupportRows);
        Assert.Equal(expected.Layer.NumberOfHeads, actual.Layer.NumberOfHeads);
        Assert.Equal(expected.Layer.InputDimension, actual.Layer.InputDimension);
        AssertBits([expected.Viscosity, expected.Time, expected.LabelMean, expected.LabelScale], [actual.Viscosity, actual.Time, actual.LabelMean, actual.LabelScale]);
        AssertBits([.. expected.ClassLabels], [.. actual.ClassLabels]);
        AssertBits(expected.Scaling.Means, actual.Scaling.Means);
        AssertBits(expected.Scaling.Scales, actual.Scaling.Scales);
        AssertBits(expected.Layer.Weights, actual.Layer.Weights);
        AssertBits(expected.Layer.Biases, actual.Layer.Biases);
    }

    private static void AssertBits(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected[i]), BitConverter.DoubleToInt64Bits(actual[i]));
        }
    }

    /// <summary>A read-only stream that cannot seek, like a pipe or a network response.</summary>
    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes, writable: false)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
