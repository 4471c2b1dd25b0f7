namespace Pipeline.Shared.Configuration;

/// <summary>
/// The node's HTTP endpoints for operations: <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c>. Bound from the
/// <c>Pipeline:Http</c> section and checked by <see cref="HttpOptionsValidator"/>.
/// </summary>
public sealed class HttpOptions
{
    public const string Section = "Pipeline:Http";

    /// <summary>TCP port of the endpoints; 0 turns them off.</summary>
    [Between(0, 65535, Note = "0 turns the HTTP endpoints off")]
    public int Port { get; set; } = 8080;

    /// <summary>IP address to listen on: 0.0.0.0 (every IPv4 interface, for probes from outside the pod), 127.0.0.1, ….</summary>
    [IpAddress]
    public string BindAddress { get; set; } = "0.0.0.0";
}
