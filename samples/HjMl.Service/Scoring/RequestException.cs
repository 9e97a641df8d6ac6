namespace HjMl.Service.Scoring;

/// <summary>
/// A request the service refuses: its HTTP status (400 for a malformed or invalid body, 413 for one too large), a message
/// naming what is wrong, and the field and row it concerns where there is one. Answered as RFC 9457 problem details.
/// </summary>
internal sealed class RequestException : Exception
{
    public RequestException(int status, string message, string? field = null, int? row = null)
        : base(message)
    {
        Status = status;
        Field = field;
        Row = row;
    }

    public RequestException()
        : this(StatusCodes.Status400BadRequest, "The request is invalid.")
    {
    }

    public RequestException(string message)
        : this(StatusCodes.Status400BadRequest, message)
    {
    }

    public RequestException(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = StatusCodes.Status400BadRequest;
    }

    /// <summary>The HTTP status to answer with.</summary>
    public int Status { get; }

    /// <summary>The JSON property (column) at fault, if any.</summary>
    public string? Field { get; }

    /// <summary>The 0-based row of a batch (0 for a single object), if the fault lies in a row.</summary>
    public int? Row { get; }
}
