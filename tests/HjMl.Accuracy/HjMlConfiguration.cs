using System.Globalization;
using System.Reflection;
using HjMl.MLNet.Trainers;

namespace HjMl.Accuracy;

/// <summary>
/// One column of HjMl in the table: "Name=Value,Name=Value" assignments to the plug-in's trainer options, matched to
/// properties by name with reflection, so an option the plug-in adds later is usable here without a change.
/// </summary>
internal sealed class HjMlConfiguration
{
    private static readonly Type[] OptionTypes =
        [typeof(HopfColeRegressionTrainer.Options), typeof(HopfColeBinaryTrainer.Options), typeof(HopfColeMulticlassTrainer.Options)];

    private HjMlConfiguration(string text, IReadOnlyList<KeyValuePair<string, string>> assignments)
    {
        Text = text;
        Assignments = assignments;
    }

    /// <summary>The plug-in's defaults.</summary>
    public static HjMlConfiguration Defaults { get; } = new(string.Empty, []);

    /// <summary>The text as given on the command line; empty for the defaults.</summary>
    public string Text { get; }

    /// <summary>The assignments, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Assignments { get; }

    /// <summary>The column heading: "HjMl" for the defaults, else "HjMl (Name=Value, ...)".</summary>
    public string Heading => Assignments.Count == 0 ? "HjMl" : $"HjMl ({string.Join(", ", Assignments.Select(a => $"{a.Key}={a.Value}"))})";

    /// <summary>
    /// Parses "Name=Value,Name=Value" (an empty text is the defaults). Each name must be a settable property of at least
    /// one of the three trainers' options, and each value must convert to that property's type; an array takes
    /// ';'-separated elements and a nullable takes "null".
    /// </summary>
    /// <exception cref="ArgumentException">A malformed assignment, an unknown name or a value that does not convert.</exception>
    public static HjMlConfiguration Parse(string text)
    {
        var assignments = new List<KeyValuePair<string, string>>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"--hjml '{text}': '{part}' is not Name=Value.");
            }

            string name = part[..equals].Trim();
            string value = part[(equals + 1)..].Trim();
            PropertyInfo[] properties = OptionTypes.Select(type => Property(type, name)).OfType<PropertyInfo>().ToArray();
            if (properties.Length == 0)
            {
                string known = string.Join(", ", OptionTypes.SelectMany(Settable).Select(p => p.Name).Distinct().Order(StringComparer.Ordinal));
                throw new ArgumentException($"--hjml '{text}': no trainer option is named '{name}'. Options: {known}.");
            }

            foreach (PropertyInfo property in properties)
            {
                _ = Convert(value, property);
            }

            assignments.Add(new(properties[0].Name, value));
        }

        return new HjMlConfiguration(text, assignments);
    }

    /// <summary>
    /// Sets the assignments on <paramref name="options"/>; a name <typeparamref name="TOptions"/> does not have (an option
    /// of another task, such as regression's Loss) is left out for this task.
    /// </summary>
    public TOptions Apply<TOptions>(TOptions options)
        where TOptions : HopfColeTrainingOptions
    {
        foreach ((string name, string value) in Assignments)
        {
            PropertyInfo? property = Property(options.GetType(), name);
            property?.SetValue(options, Convert(value, property));
        }

        return options;
    }

    /// <summary>
    /// Every hyper-parameter as the trainers will see it ("Name=Value", column names and callbacks left out): the
    /// multiclass options, then what only regression has, so the report pins what "defaults" meant for this run.
    /// </summary>
    public string Effective()
    {
        object multiclass = Apply(new HopfColeMulticlassTrainer.Options());
        object regression = Apply(new HopfColeRegressionTrainer.Options());
        IEnumerable<string> Values(object options, Func<PropertyInfo, bool> keep) => Settable(options.GetType())
            .Where(p => !p.Name.EndsWith("ColumnName", StringComparison.Ordinal) && IsShown(p.PropertyType) && keep(p))
            .Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Name}={Format(p.GetValue(options))}"));
        string[] shared = Values(multiclass, _ => true).ToArray();
        string[] regressionOnly = Values(regression, p => Property(typeof(HopfColeMulticlassTrainer.Options), p.Name) is null).ToArray();
        return string.Join(", ", shared) + (regressionOnly.Length > 0 ? $"; regression also {string.Join(", ", regressionOnly)}" : string.Empty);
    }

    private static bool IsShown(Type type)
    {
        Type target = Nullable.GetUnderlyingType(type) ?? type;
        return target.IsEnum || target == typeof(TimeSpan) || target.IsPrimitive || target == typeof(decimal) || (target.IsArray && IsShown(target.GetElementType()!));
    }

    private static string Format(object? value) => value switch
    {
        null => "null",
        Array array => string.Join(";", array.Cast<object?>().Select(Format)),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "null",
    };

    private static IEnumerable<PropertyInfo> Settable(Type type)
        => type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.SetMethod!.IsPublic);

    private static PropertyInfo? Property(Type type, string name)
        => Settable(type).FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));

    private static object? Convert(string value, PropertyInfo property)
    {
        try
        {
            return Convert(value, property.PropertyType);
        }
        catch (Exception exception) when (exception is FormatException or InvalidCastException or OverflowException or ArgumentException)
        {
            throw new ArgumentException($"--hjml: {property.Name}={value} does not convert to {property.PropertyType.Name} ({exception.Message}).", exception);
        }
    }

    private static object? Convert(string value, Type type)
    {
        Type? underlying = Nullable.GetUnderlyingType(type);
        if (string.Equals(value, "null", StringComparison.OrdinalIgnoreCase) && (underlying is not null || !type.IsValueType))
        {
            return null;
        }

        Type target = underlying ?? type;
        if (target.IsArray)
        {
            Type element = target.GetElementType()!;
            string[] parts = value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var array = Array.CreateInstance(element, parts.Length);
            for (int i = 0; i < parts.Length; i++)
            {
                array.SetValue(Convert(parts[i], element), i);
            }

            return array;
        }

        return target switch
        {
            _ when target.IsEnum => Enum.Parse(target, value, ignoreCase: true),
            _ when target == typeof(string) => value,
            _ when target == typeof(TimeSpan) => TimeSpan.Parse(value, CultureInfo.InvariantCulture),
            _ when typeof(IConvertible).IsAssignableFrom(target) => System.Convert.ChangeType(value, target, CultureInfo.InvariantCulture),
            _ => throw new InvalidCastException($"options of type {target.Name} cannot be given on the command line"),
        };
    }
}
