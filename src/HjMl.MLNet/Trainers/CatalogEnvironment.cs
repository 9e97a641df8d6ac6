using System.Reflection;
using Microsoft.ML.Runtime;

namespace HjMl.MLNet.Trainers;

/// <summary>
/// The <see cref="IHostEnvironment"/> behind an ML.NET catalog: the MLContext's environment, which holds its seed and
/// sends its channels' messages to <c>MLContext.Log</c>. ML.NET gives it to its own components through the internal
/// interface <c>IInternalCatalog</c> (catalogs implement it explicitly) and offers no public route from a catalog to it,
/// so this class reads that interface's property by reflection, in one place, and names the ML.NET version if a future
/// one moves it. Everything done with the environment afterwards is public API: <see cref="IHostEnvironment.Register"/>
/// (a host whose <see cref="IHost.Rand"/> is seeded from the context), <see cref="IChannelProvider.Start"/> and
/// <see cref="IChannel"/>'s Info and Trace. The context's seed itself is likewise only on an internal interface
/// (<c>IHostEnvironmentInternal.Seed</c>), read the same way.
/// </summary>
internal static class CatalogEnvironment
{
    private const string InternalCatalog = "Microsoft.ML.Data.IInternalCatalog";
    private const string InternalEnvironment = "Microsoft.ML.Runtime.IHostEnvironmentInternal";

    /// <summary>The environment of <paramref name="catalog"/> (any of MLContext's catalogs or their Trainers).</summary>
    /// <exception cref="InvalidOperationException">This ML.NET no longer exposes the environment the way HjMl.MLNet reads it.</exception>
    public static IHostEnvironment Of(object catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        Type? contract = catalog.GetType().GetInterface(InternalCatalog);
        PropertyInfo? property = contract?.GetProperty("Environment", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
        return property?.GetValue(catalog) as IHostEnvironment
            ?? throw new InvalidOperationException($"This ML.NET ({typeof(IHostEnvironment).Assembly.GetName().Version}) has no {InternalCatalog}.Environment on {catalog.GetType().Name}, which HjMl.MLNet reads for the MLContext's seed and log; use the ML.NET version HjMl.MLNet was built against.");
    }

    /// <summary>The seed <paramref name="environment"/>'s MLContext was made with, or null for <c>new MLContext()</c>.</summary>
    /// <exception cref="InvalidOperationException">This ML.NET no longer exposes the seed the way HjMl.MLNet reads it.</exception>
    public static int? Seed(IHostEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        PropertyInfo property = environment.GetType().GetInterface(InternalEnvironment)?.GetProperty("Seed", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException($"This ML.NET ({typeof(IHostEnvironment).Assembly.GetName().Version}) has no {InternalEnvironment}.Seed on {environment.GetType().Name}, which HjMl.MLNet reads for the MLContext's seed; use the ML.NET version HjMl.MLNet was built against.");
        return (int?)property.GetValue(environment);
    }
}
