using System.Globalization;
using System.Text.RegularExpressions;

namespace Pipeline.Shared.Configuration;

/// <summary>
/// One entry of <see cref="ClusterOptions.SeedNodes"/>: <c>host:port</c>, or a full Akka address
/// <c>akka.tcp://system@host:port</c> (whose system name must be this cluster's).
/// </summary>
public sealed partial record SeedNode(string? SystemName, string Host, int Port)
{
    public string ToAddress(string actorSystemName) => $"akka.tcp://{SystemName ?? actorSystemName}@{Host}:{Port}";

    public static bool TryParse(string text, out SeedNode seed)
    {
        var match = SeedPattern().Match(text.Trim());
        if (match.Success && int.TryParse(match.Groups["port"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535)
        {
            var system = match.Groups["system"];
            seed = new SeedNode(system.Success ? system.Value : null, match.Groups["host"].Value, port);
            return true;
        }
        seed = null!;
        return false;
    }

    // [akka.tcp://system@]host:port, where host is a name, an IPv4 address or a bracketed IPv6 address.
    [GeneratedRegex(@"^(?:akka\.tcp://(?<system>[A-Za-z0-9][A-Za-z0-9_-]*)@)?(?<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(?<port>[0-9]{1,5})$")]
    private static partial Regex SeedPattern();
}
