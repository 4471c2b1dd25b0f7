using System.Globalization;
using System.Text.RegularExpressions;

namespace Pipeline.Shared.Configuration;

/// <summary>
/// One entry of <see cref="ClusterOptions.SeedNodes"/>: <c>host:port</c>, or a full Akka address
/// <c>akka.tcp://system@host:port</c> (<c>akka.ssl.tcp://…</c> with TLS), whose system name must be this cluster's.
/// </summary>
/// <param name="Protocol">The protocol the entry was written with (<see cref="PlainProtocol"/> or <see cref="TlsProtocol"/>), null for <c>host:port</c>.</param>
public sealed partial record SeedNode(string? SystemName, string Host, int Port, string? Protocol = null)
{
    /// <summary>Akka.Remote's protocol of plain TCP remoting.</summary>
    public const string PlainProtocol = "akka.tcp";

    /// <summary>Akka.Remote's protocol of remoting over TLS (<see cref="ClusterTlsOptions"/>).</summary>
    public const string TlsProtocol = "akka.ssl.tcp";

    /// <summary>The seed's full address, with the protocol of this node's transport: with TLS or without.</summary>
    public string ToAddress(string actorSystemName, bool tls = false) => $"{(tls ? TlsProtocol : PlainProtocol)}://{SystemName ?? actorSystemName}@{Host}:{Port}";

    public static bool TryParse(string text, out SeedNode seed)
    {
        var match = SeedPattern().Match(text.Trim());
        if (match.Success && int.TryParse(match.Groups["port"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535)
        {
            var system = match.Groups["system"];
            var protocol = match.Groups["protocol"];
            seed = new SeedNode(system.Success ? system.Value : null, match.Groups["host"].Value, port, protocol.Success ? protocol.Value : null);
            return true;
        }
        seed = null!;
        return false;
    }

    // [akka[.ssl].tcp://system@]host:port, where host is a name, an IPv4 address or a bracketed IPv6 address.
    [GeneratedRegex(@"^(?:(?<protocol>akka\.tcp|akka\.ssl\.tcp)://(?<system>[A-Za-z0-9][A-Za-z0-9_-]*)@)?(?<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(?<port>[0-9]{1,5})$")]
    private static partial Regex SeedPattern();
}
