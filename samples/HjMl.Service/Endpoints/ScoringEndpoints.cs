using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text.Json;
using HjMl.Service.Models;
using HjMl.Service.Scoring;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Options;

namespace HjMl.Service.Endpoints;

/// <summary>
/// <c>POST /predict</c> and <c>POST /explain</c>: the body (one row object, or an array of them) is read whole up to the
/// size limit, then parsed, validated and scored row by row by an engine from the current model's pool, and the
/// response is written in one piece with its length and the model version (<c>X-Model-Version</c>). Faults are answered
/// as problem details naming the field and row.
/// </summary>
internal sealed class ScoringEndpoints(ModelHost host, IOptions<ServiceOptions> options, ILogger<ScoringEndpoints> logger)
{
    private const string ModelVersionHeader = "X-Model-Version";
    private readonly long maximumBytes = options.Value.MaxRequestBytes;
    private readonly int maximumRows = options.Value.MaxBatchRows;

    /// <summary>Maps the two scoring routes.</summary>
    public static void Map(WebApplication app)
    {
        ScoringEndpoints endpoints = app.Services.GetRequiredService<ScoringEndpoints>();
        app.MapPost("/predict", context => endpoints.Score(context, explain: false));
        app.MapPost("/explain", context => endpoints.Score(context, explain: true));
    }

    private async Task Score(HttpContext context, bool explain)
    {
        long start = Stopwatch.GetTimestamp();
        HttpRequest request = context.Request;
        PipeReader body = request.BodyReader;
        ReadResult read = default;
        bool haveBody = false;
        try
        {
            if (request.ContentLength > maximumBytes)
            {
                throw TooLarge(request.ContentLength.Value);
            }

            read = await ReadAll(body, context.RequestAborted);
            haveBody = true;
            using ModelLease lease = host.Acquire();
            ServedModel model = lease.Model;
            ObjectPool<ScoringEngine> pool = explain ? model.Explainers : model.Predictors;
            ScoringEngine engine = pool.Get();
            try
            {
                int rows = engine.Run(read.Buffer, maximumRows);
                body.AdvanceTo(read.Buffer.End);
                haveBody = false;
                HttpResponse response = context.Response;
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = "application/json; charset=utf-8";
                response.ContentLength = engine.Buffer.WrittenCount;
                response.Headers[ModelVersionHeader] = model.Identity.Version;
                await response.Body.WriteAsync(engine.Buffer.WrittenMemory, context.RequestAborted);
                if (logger.IsEnabled(LogLevel.Debug))
                {
                    double microseconds = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
                    Log.RequestScored(logger, request.Path, rows, model.Identity.Version, microseconds);
                }
            }
            finally
            {
                pool.Return(engine);
            }
        }
        catch (RequestException exception)
        {
            if (haveBody)
            {
                body.AdvanceTo(read.Buffer.End);
            }

            Log.RequestRefused(logger, request.Method, request.Path, exception.Status, exception.Message, exception.Field, exception.Row);
            await Problem(context, exception);
        }
        catch (BadHttpRequestException exception)
        {
            // Kestrel's own limit (the same size) caught a body that announced no length.
            Log.RequestRefused(logger, request.Method, request.Path, exception.StatusCode, exception.Message, null, null);
            await Problem(context, new RequestException(exception.StatusCode, $"{exception.Message} The limit is {maximumBytes} bytes (HjMl:MaxRequestBytes).", "body"));
        }
    }

    // The whole body, without copying: the reader is told to keep buffering until the request ends.
    private async Task<ReadResult> ReadAll(PipeReader body, CancellationToken cancellation)
    {
        while (true)
        {
            ReadResult result = await body.ReadAsync(cancellation);
            if (result.Buffer.Length > maximumBytes)
            {
                long length = result.Buffer.Length;
                body.AdvanceTo(result.Buffer.End);
                throw TooLarge(length);
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                return result;
            }

            body.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private RequestException TooLarge(long length)
        => new(StatusCodes.Status413PayloadTooLarge, $"The body has {length} bytes or more; at most {maximumBytes} are accepted (HjMl:MaxRequestBytes).", "body");

    /// <summary>Answers with RFC 9457 problem details (no type: about:blank): status, title, detail, and the field and row at fault.</summary>
    internal static async Task Problem(HttpContext context, RequestException exception)
    {
        HttpResponse response = context.Response;
        if (response.HasStarted)
        {
            return;
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = OutputLayout.Encoder }))
        {
            writer.WriteStartObject();
            writer.WriteString("title", ReasonPhrases(exception.Status));
            writer.WriteNumber("status", exception.Status);
            writer.WriteString("detail", exception.Message);
            if (exception.Field is { } field)
            {
                writer.WriteString("field", field);
            }

            if (exception.Row is { } row)
            {
                writer.WriteNumber("row", row);
            }

            writer.WriteEndObject();
        }

        response.StatusCode = exception.Status;
        response.ContentType = "application/problem+json; charset=utf-8";
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory);
    }

    private static string ReasonPhrases(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);
}
