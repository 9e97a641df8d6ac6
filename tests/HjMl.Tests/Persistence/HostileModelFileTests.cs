using System.Buffers.Binary;
using System.Text;
using HjMl.Models;
using HjMl.Persistence;
using HjMl.Tests.Support;

namespace HjMl.Tests.Persistence;

/// <summary>
/// Model files whose checksum is valid but whose fields are out of range or inconsistent (issue 19, item 2) are refused
/// on load with an <see cref="InvalidDataException"/> naming the field, instead of loading and scoring NaN.
/// </summary>
public class HostileModelFileTests
{
    public static TheoryData<string, string> HostileFields => new()
    {
        { "eps=1.79e308", "viscosity eps = 1.79E+308" },
        { "scale=5e-324", "has mean" },
        { "mean=1e308", "has mean 1E+308" },
        { "weight=max", "Head 0, piece 0 has bias" },
        { "weight=-max", "Head 0, piece 0 has bias" },
        { "label=nan", "Class label 0 is NaN" },
        { "label=duplicate", "Class label 1 is 0" },
        { "name=empty", "is empty" },
        { "name=duplicate", "twice" },
        { "row=max", "Support row 0 is 2147483647" },
        { "row=-2", "support row -2" },
    };

    [Theory]
    [MemberData(nameof(HostileFields))]
    public void AFileWithAValidChecksumAndAnOutOfRangeFieldIsRefusedNamingTheField(string change, string expected)
    {
        byte[] file = ModelFile.Frame(Patch(Model(), change), 1);
        var problem = Assert.Throws<InvalidDataException>(() => ModelFile.Load(new MemoryStream(file), "hostile.hjml"));
        Assert.StartsWith("hostile.hjml: not a valid HjMl model file", problem.Message);
        Assert.Contains(expected, problem.Message);
    }

    [Fact]
    public void TheUnchangedFileStillLoadsAndScoresFinitely()
    {
        HopfColeModel model = ModelFile.Load(new MemoryStream(ModelFile.Frame(Patch(Model(), "none"), 1)));
        Assert.True(double.IsFinite(model.Score(model.Scaling.Means)));
    }

    [Theory]
    [InlineData(1.79e308)]
    [InlineData(double.MaxValue)]
    [InlineData(1e308)]
    public void WithViscosityRefusesAViscosityThatMakesScoresOverflow(double viscosity)
    {
        var problem = Assert.Throws<ArgumentException>(() => Model().WithViscosity(viscosity));
        Assert.Contains("eps ln N", problem.Message);
        Assert.Equal("viscosity", problem.ParamName);
    }

    [Fact]
    public void WithViscosityKeepsEveryViscosityWhoseScoresStayFinite()
    {
        HopfColeModel model = Model();
        foreach (double viscosity in new[] { 0, double.Epsilon, 1e-300, 1, 1e300 })
        {
            Assert.True(double.IsFinite(model.WithViscosity(viscosity).Score(model.Scaling.Means)), $"eps {viscosity}");
        }
    }

    private static HopfColeModel Model() => PrototypeModels.Classifier(TestData.Load("breast_cancer.csv"), perClass: 3, viscosity: 0.5);

    /// <summary>The model's version-1 payload with one field changed (the layout of <see cref="ModelPayload"/>).</summary>
    internal static byte[] Patch(HopfColeModel model, string change)
    {
        byte[] payload = ModelPayload.Write(model, new SortedDictionary<string, string>(StringComparer.Ordinal) { [ModelFile.WriterVersionKey] = "test" });
        int d = model.InputDimension, all = model.Layer.Biases.Length;
        const int Viscosity = 13;
        int names = 45;
        int nameOffset = names + 4;
        int position = nameOffset;
        for (int k = 0; k < d; k++)
        {
            position += 4 + BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(position));
        }

        int labels = position + 4;
        int means = labels + (8 * model.ClassLabels.Count);
        int scales = means + (8 * d);
        int weights = scales + (8 * d);
        int rows = weights + (8 * all * d) + (8 * all);
        switch (change)
        {
            case "eps=1.79e308": BinaryPrimitives.WriteDoubleLittleEndian(payload.AsSpan(Viscosity), 1.79e308); break;
            case "scale=5e-324": BinaryPrimitives.WriteDoubleLittleEndian(payload.AsSpan(scales), 5e-324); break;
            case "mean=1e308": BinaryPrimitives.WriteDoubleLittleEndian(payload.AsSpan(means), 1e308); break;
            case "weight=max": BinaryPrimitives.WriteDoubleLittleEndian(payload.AsSpan(weights), double.MaxValue); break;
            case "weight=-max": BinaryPrimitives.WriteDoubleLittleEndian(payload.AsSpan(weights), double.MinValue); break;
            case "label=nan": BinaryPrimitives.WriteDoubleLittleEndian(payload.AsSpan(labels), double.NaN); break;
            case "label=duplicate": BinaryPrimitives.WriteDoubleLittleEndian(payload.AsSpan(labels + 8), model.ClassLabels[0]); break;
            case "row=max": BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(rows), int.MaxValue); break;
            case "row=-2": BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(rows), -2); break;
            case "name=empty": return Rename(payload, nameOffset, string.Empty);
            case "name=duplicate": return Rename(payload, nameOffset, model.FeatureNames[1]);
            default: break;
        }

        return payload;
    }

    // Replaces the feature name at offset (a length-prefixed UTF-8 string) with another.
    private static byte[] Rename(byte[] payload, int offset, string name)
    {
        int length = BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(offset));
        byte[] text = Encoding.UTF8.GetBytes(name);
        var renamed = new byte[4 + text.Length];
        BinaryPrimitives.WriteInt32LittleEndian(renamed, text.Length);
        text.CopyTo(renamed, 4);
        return [.. payload.AsSpan(0, offset), .. renamed, .. payload.AsSpan(offset + 4 + length)];
    }
}
