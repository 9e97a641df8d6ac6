using System.Text;
using HjMl.Attribution;
using HjMl.Data;
using HjMl.Models;
using HjMl.Persistence;
using HjMl.Tests.Attribution;
using HjMl.Tests.Support;

namespace HjMl.Tests.Persistence;

/// <summary>
/// The red team's fuzzing kept in the suite (issue 19), with a fixed seed: thousands of mutated model files (bit flips,
/// truncations, inserted and overwritten bytes, garbage, and payloads corrupted under a valid checksum) and mutated CSV
/// files. Each is refused with the documented exception, or loads into something that scores every row finitely or
/// refuses it with the documented exception: never another exception, never NaN.
/// </summary>
public class ReliabilityFuzzTests
{
    private const int Seed = 19;

    [Fact]
    public void MutatedModelFilesAreRefusedOrScoreFinitely()
    {
        Dataset iris = TestData.Load("iris.csv");
        HopfColeModel[] models =
        [
            PrototypeModels.Classifier(TestData.Load("breast_cancer.csv"), perClass: 3, viscosity: 0.5),
            PrototypeModels.Classifier(iris, perClass: 2, viscosity: 0.2),
            PrototypeModels.Regression(TestData.Load("diabetes.csv"), pieces: 4, viscosity: 2),
            FlowModels.Iris.Model,
        ];
        var random = new Random(Seed);
        int loaded = 0, refused = 0;
        for (int trial = 0; trial < 5000; trial++)
        {
            HopfColeModel model = models[trial % models.Length];
            byte[] file = Mutate(model, random, trial);
            HopfColeModel? result;
            try
            {
                result = ModelFile.Load(new MemoryStream(file), "fuzz.hjml");
            }
            catch (InvalidDataException)
            {
                refused++;
                continue;
            }

            loaded++;
            AssertScoresFinitelyOrRefuses(result, model, random);
        }

        Assert.True(refused > 3500 && loaded > 200, $"{refused} refused, {loaded} loaded");
    }

    [Fact]
    public void MutatedCsvFilesAreRefusedOrReadAsFiniteRowsWithDistinctNames()
    {
        string original = string.Join('\n', File.ReadLines(Path.Combine(TestData.Folder, "iris.csv")).Take(12)) + "\n";
        HopfColeModel model = PrototypeModels.Classifier(TestData.Load("iris.csv"), perClass: 2, viscosity: 0.2);
        var random = new Random(Seed);
        int read = 0, refused = 0;
        for (int trial = 0; trial < 3000; trial++)
        {
            string text = MutateCsv(original, random);
            try
            {
                Dataset data = CsvDataset.Read(new StringReader(text), "Label", "fuzz.csv");
                Assert.Equal(data.Columns, data.FeatureNames.Distinct(StringComparer.Ordinal).Count());
                Assert.DoesNotContain(string.Empty, data.FeatureNames);
                Assert.All(data.Features.ToArray(), value => Assert.True(double.IsFinite(value)));
                read++;
            }
            catch (InvalidDataException)
            {
                refused++;
            }

            try
            {
                FeatureTable table = FeatureTable.Read(new StringReader(text), model.FeatureNames, "fuzz.csv");
                var scores = new double[table.Rows * model.OutputLength];
                try
                {
                    model.ScoreBatch(table.Features, scores);
                    Assert.All(scores, score => Assert.True(double.IsFinite(score)));
                }
                catch (ArgumentException unscorable)
                {
                    Assert.Contains("cannot be scored", unscorable.Message);
                }
            }
            catch (InvalidDataException)
            {
                // Refused, as CsvDataset refuses: named by row and column.
            }
        }

        Assert.True(read > 300 && refused > 300, $"{read} read, {refused} refused");
    }

    // A loaded (possibly altered) model scores ordinary and far rows finitely, or refuses them as Score documents;
    // Score and ScoreBatch agree; explanations and certificates of classifiers are finite.
    private static void AssertScoresFinitelyOrRefuses(HopfColeModel loaded, HopfColeModel original, Random random)
    {
        int d = loaded.InputDimension;
        var rows = new double[3 * d];
        for (int k = 0; k < d; k++)
        {
            rows[k] = loaded.Scaling.Means[k];
            rows[d + k] = original.Scaling.Means[k] + (original.Scaling.Scales[k] * ((random.NextDouble() * 4) - 2));
            rows[(2 * d) + k] = Math.Pow(10, random.Next(-300, 300)) * (random.Next(2) == 0 ? 1 : -1);
        }

        var batch = new double[3 * loaded.OutputLength];
        string? batchError = null;
        try
        {
            loaded.ScoreBatch(rows, batch);
            Assert.All(batch, score => Assert.True(double.IsFinite(score), $"a batch score is {score}"));
        }
        catch (ArgumentException refused)
        {
            batchError = refused.Message;
        }

        var single = new double[loaded.OutputLength];
        string? firstError = null;
        for (int row = 0; row < 3 && firstError is null; row++)
        {
            try
            {
                loaded.Score(rows.AsSpan(row * d, d), single);
                Assert.All(single, score => Assert.True(double.IsFinite(score), $"a score is {score}"));
                if (loaded.Flow is null)
                {
                    Assert.Equal(batch.AsSpan(row * loaded.OutputLength, loaded.OutputLength).ToArray(), single);
                }
            }
            catch (ArgumentException refused)
            {
                firstError = refused.Message.Replace("The row", $"Row {row + 1}", StringComparison.Ordinal);
            }
        }

        Assert.Equal(firstError, batchError);
        if (firstError is null && loaded.Kind != ModelKind.Regression)
        {
            Certificate certificate = new ModelExplainer(loaded).Certify(rows.AsSpan(0, d));
            Assert.True(certificate.Radius >= 0, $"r* is {certificate.Radius}");
        }
    }

    private static byte[] Mutate(HopfColeModel model, Random random, int trial)
    {
        byte[] file = ModelFile.ToBytes(model, null);
        switch (trial % 6)
        {
            case 0:
                for (int flips = random.Next(1, 9); flips > 0; flips--)
                {
                    int at = random.Next(file.Length);
                    file[at] ^= (byte)(1 << random.Next(8));
                }

                return file;
            case 1:
                return file[..random.Next(file.Length)];
            case 2:
                int insert = random.Next(file.Length);
                byte[] inserted = new byte[random.Next(1, 16)];
                random.NextBytes(inserted);
                return [.. file[..insert], .. inserted, .. file[insert..]];
            case 3:
                byte[] garbage = new byte[random.Next(0, 256)];
                random.NextBytes(garbage);
                return garbage;
            default:
                // Corrupted under a valid checksum: the payload changed, the header recomputed.
                byte[] payload = file[ModelFile.HeaderLength..];
                int changes = random.Next(1, 4);
                for (int i = 0; i < changes; i++)
                {
                    int at = random.Next(payload.Length);
                    payload[at] = random.Next(3) switch
                    {
                        0 => (byte)(payload[at] ^ (1 << random.Next(8))),
                        1 => 0xFF,
                        _ => (byte)random.Next(256),
                    };
                }

                return ModelFile.Frame(payload, (uint)ModelPayload.FormatVersion(model));
        }
    }

    private static readonly string[] CsvPieces = [",", "\n", "\r\n", "\"", "e", "-", "NaN", "Infinity", "1e309", "1e308", "-1e308", "4.9e-324", " ", "sepal_length_cm", "Label", "\u00e9", "\uFEFF", "0x1F", "1,2", ""];

    private static string MutateCsv(string text, Random random)
    {
        var builder = new StringBuilder(text);
        int header = text.IndexOf('\n', StringComparison.Ordinal);
        for (int changes = random.Next(1, 4); changes > 0; changes--)
        {
            int at = random.Next(4) == 0 ? random.Next(header) : random.Next(builder.Length + 1);
            switch (random.Next(4))
            {
                case 0:
                    builder.Insert(at, CsvPieces[random.Next(CsvPieces.Length)]);
                    break;
                case 1:
                    builder.Remove(at, Math.Min(random.Next(1, 4), builder.Length - at));
                    break;
                case 2:
                    // Rename a header column to another's name, or to nothing.
                    string current = builder.ToString();
                    int end = current.IndexOf('\n', StringComparison.Ordinal);
                    if (end < 0)
                    {
                        break;
                    }

                    string[] names = current[..end].Split(',');
                    names[random.Next(names.Length)] = random.Next(3) == 0 ? string.Empty : names[random.Next(names.Length)];
                    builder.Clear().Append(string.Join(',', names)).Append(current[end..]);
                    break;
                default:
                    builder.Length = Math.Max(0, at);
                    break;
            }

            header = Math.Max(1, builder.ToString().IndexOf('\n', StringComparison.Ordinal));
        }

        return builder.ToString();
    }
}
