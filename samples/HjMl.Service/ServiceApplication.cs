using HjMl.Service.Endpoints;
using HjMl.Service.Models;
using HjMl.Service.Scoring;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace HjMl.Service;

/// <summary>Builds the web application: options, the model host and its watcher, Kestrel's limits, the four routes.</summary>
internal static class ServiceApplication
{
    /// <summary>The application for <paramref name="args"/> (<c>--model path</c>, <c>--urls</c>, <c>--HjMl:Setting=value</c>).</summary>
    public static WebApplication Build(string[] args)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
        builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--model"] = $"{ServiceOptions.Section}:{nameof(ServiceOptions.ModelPath)}" });

        // Structured logs: JSON lines on the console unless the configuration names another formatter (appsettings.json
        // is read from the content root, the current directory, which need not hold it).
        if (builder.Configuration["Logging:Console:FormatterName"] is null)
        {
            builder.Logging.AddJsonConsole(json =>
            {
                json.IncludeScopes = true;
                json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                json.UseUtcTimestamp = true;
            });
        }

        builder.Services.AddOptions<ServiceOptions>()
            .Bind(builder.Configuration.GetSection(ServiceOptions.Section))
            .Validate(options => options.MaxRequestBytes > 0 && options.MaxBatchRows > 0 && options.PooledEngines >= 0 && options.TopSupportPoints is null or > 0, "HjMl:MaxRequestBytes and HjMl:MaxBatchRows must be positive, HjMl:PooledEngines and HjMl:TopSupportPoints non-negative.");
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<ServiceOptions>>((kestrel, service) =>
        {
            kestrel.Limits.MaxRequestBodySize = service.Value.MaxRequestBytes;
            kestrel.AddServerHeader = false;
        });
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.Encoder = OutputLayout.Encoder);
        builder.Services.AddSingleton<ModelHost>();
        builder.Services.AddSingleton<ScoringEndpoints>();
        builder.Services.AddHostedService<ModelWatcher>();

        WebApplication app = builder.Build();

        // Load the model now: a service that cannot serve its model does not start.
        _ = app.Services.GetRequiredService<ModelHost>();
        ScoringEndpoints.Map(app);
        ModelEndpoints.Map(app);
        return app;
    }
}
