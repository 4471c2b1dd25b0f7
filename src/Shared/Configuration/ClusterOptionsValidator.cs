using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Pipeline.Shared.Configuration;

/// <summary>
/// Checks <see cref="ClusterOptions"/> before the node starts; every message names the configuration key, the
/// value found and what would be accepted.
/// </summary>
/// <param name="tls">Whether remoting runs over TLS (<see cref="ClusterTlsOptions.Enabled"/>), which decides the protocol a full seed address must have.</param>
public sealed partial class ClusterOptionsValidator(bool tls = false) : IValidateOptions<ClusterOptions>
{
    private const string Key = ClusterOptions.Section;

    public ValidateOptionsResult Validate(string? name, ClusterOptions options)
    {
        var failures = new List<string>();

        if (!ActorSystemNamePattern().IsMatch(options.ActorSystemName ?? ""))
            failures.Add($"{Key}:ActorSystemName is '{options.ActorSystemName}'; it must start with a letter or digit and contain only letters, digits, '-' and '_'.");

        foreach (var role in options.Roles ?? [])
        {
            if (!ClusterRoles.All.Contains(role, StringComparer.Ordinal))
                failures.Add($"{Key}:Roles contains '{role}', which is not a role; the roles are {string.Join(", ", ClusterRoles.All)} (leave Roles empty for all three).");
        }

        if (string.IsNullOrWhiteSpace(options.Hostname))
            failures.Add($"{Key}:Hostname is empty; set the address to listen on, e.g. 127.0.0.1, or 0.0.0.0 together with {Key}:PublicHostname.");
        else if (IsWildcard(options.Hostname) && string.IsNullOrWhiteSpace(options.PublicHostname))
            failures.Add($"{Key}:Hostname is '{options.Hostname}' (every interface) but {Key}:PublicHostname is not set; set it to the address other nodes reach this one at (pod IP or DNS name).");

        if (options.Port is < 0 or > 65535)
            failures.Add($"{Key}:Port is {options.Port}; it must be between 0 (any free port) and 65535.");

        foreach (var seed in options.SeedNodes ?? [])
        {
            if (!SeedNode.TryParse(seed, out var parsed))
                failures.Add($"{Key}:SeedNodes contains '{seed}'; write a seed as host:port (port 1-65535) or {(tls ? SeedNode.TlsProtocol : SeedNode.PlainProtocol)}://{options.ActorSystemName}@host:port.");
            else if (parsed.SystemName is { } system && system != options.ActorSystemName)
                failures.Add($"{Key}:SeedNodes contains '{seed}', a node of actor system '{system}'; this node's system is '{options.ActorSystemName}' ({Key}:ActorSystemName), and nodes only join a cluster of their own name.");
            else if (parsed.Protocol is { } protocol && protocol != (tls ? SeedNode.TlsProtocol : SeedNode.PlainProtocol))
                failures.Add(tls
                    ? $"{Key}:SeedNodes contains '{seed}', a plain-TCP address, but {ClusterTlsOptions.Section}:Enabled is true; write {SeedNode.TlsProtocol}://{options.ActorSystemName}@{parsed.Host}:{parsed.Port} or just {parsed.Host}:{parsed.Port}."
                    : $"{Key}:SeedNodes contains '{seed}', a TLS address, but {ClusterTlsOptions.Section}:Enabled is false; turn TLS on, or write {parsed.Host}:{parsed.Port}.");
        }

        if (options.MaximumFrameSizeBytes < ClusterOptions.MinimumFrameSizeBytes || options.MaximumFrameSizeBytes > int.MaxValue)
            failures.Add($"{Key}:MaximumFrameSizeBytes is {options.MaximumFrameSizeBytes}; it must be at least {ClusterOptions.MinimumFrameSizeBytes} " +
                         $"(one prepared 448×448×3 frame of {ClusterOptions.PreparedFrameBytes} bytes plus {ClusterOptions.FrameOverheadBytes} bytes of overhead) and at most {int.MaxValue}.");

        if (options.SplitBrainStrategy is not (ClusterOptions.KeepMajority or ClusterOptions.KeepOldest))
            failures.Add($"{Key}:SplitBrainStrategy is '{options.SplitBrainStrategy}'; it must be {ClusterOptions.KeepMajority} or {ClusterOptions.KeepOldest}.");

        if (options.Discovery == ClusterOptions.KubernetesDiscovery)
        {
            if (options.SeedNodes is { Length: > 0 })
                failures.Add($"{Key}:SeedNodes is set but {Key}:Discovery is {ClusterOptions.KubernetesDiscovery}, which finds the nodes itself; remove the seed nodes or use Discovery {ClusterOptions.SeedNodesDiscovery}.");
            if (options.ManagementPort is < 1 or > 65535)
                failures.Add($"{Key}:ManagementPort is {options.ManagementPort}; it must be between 1 and 65535 (8558 by default).");
            else if (options.ManagementPort == options.Port)
                failures.Add($"{Key}:ManagementPort is {options.ManagementPort}, the same as {Key}:Port; Akka.Management and remoting need a port each.");
            if (string.IsNullOrWhiteSpace(options.KubernetesPodLabelSelector))
                failures.Add($"{Key}:KubernetesPodLabelSelector is empty; set the label selector of this cluster's pods, e.g. app.kubernetes.io/part-of=inspection-pipeline.");
            if (IsLoopback(options.AdvertisedHostname))
                failures.Add($"{Key}:Discovery is {ClusterOptions.KubernetesDiscovery} but other pods would reach this node at '{options.AdvertisedHostname}'; set {Key}:Hostname to 0.0.0.0 and {Key}:PublicHostname to the pod's IP (status.podIP).");
            if (options.RequiredContactPoints < 1)
                failures.Add($"{Key}:RequiredContactPoints is {options.RequiredContactPoints}; it must be at least 1.");
        }
        else if (options.Discovery != ClusterOptions.SeedNodesDiscovery)
        {
            failures.Add($"{Key}:Discovery is '{options.Discovery}'; it must be {ClusterOptions.SeedNodesDiscovery} or {ClusterOptions.KubernetesDiscovery}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsWildcard(string hostname) =>
        IPAddress.TryParse(hostname, out var address) && (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any));

    private static bool IsLoopback(string? hostname) =>
        string.Equals(hostname, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(hostname, out var address) && IPAddress.IsLoopback(address));

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]*$")]
    private static partial Regex ActorSystemNamePattern();
}
