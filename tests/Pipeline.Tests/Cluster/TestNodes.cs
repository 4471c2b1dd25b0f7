using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Pipeline.Host.Hosting;
using Pipeline.Shared.Configuration;
using Xunit;

namespace Pipeline.Tests.Cluster;

/// <summary>Cluster tests start real nodes on 127.0.0.1; they run one class at a time so that their timings hold on a small machine.</summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<Streaming.StreamingRigFixture>
{
    public const string Name = "Cluster nodes";
}

/// <summary>Builds nodes for tests: configuration from code only (no appsettings or environment), free ports, quiet logs.</summary>
internal static class TestNodes
{
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <param name="settings">Further configuration values (TLS, authentication, …), which win over the ones here.</param>
    public static PipelineHostBuilder Builder(string systemName, int port, IEnumerable<string> roles, IEnumerable<int> seedPorts, int httpPort = 0,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var overrides = new Dictionary<string, string?>
        {
            [$"{ClusterOptions.Section}:ActorSystemName"] = systemName,
            [$"{ClusterOptions.Section}:Port"] = port.ToString(CultureInfo.InvariantCulture),
            [$"{HttpOptions.Section}:Port"] = httpPort.ToString(CultureInfo.InvariantCulture),
            [$"{HttpOptions.Section}:BindAddress"] = "127.0.0.1",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (role, i) in roles.Select((role, i) => (role, i))) overrides[$"{ClusterOptions.Section}:Roles:{i}"] = role;
        foreach (var (seed, i) in seedPorts.Select((seed, i) => (seed, i))) overrides[$"{ClusterOptions.Section}:SeedNodes:{i}"] = $"127.0.0.1:{seed}";
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) overrides[key] = value;

        return PipelineHost.CreateBuilder(new PipelineHostSettings { UseDefaultSources = false, Overrides = overrides })
            // A node whose seed is not up yet retries soon after the seed appears, not after Akka's default 5 s.
            .ConfigureAkka((akka, _) => akka.AddHocon("akka.remote.retry-gate-closed-for = 200ms", HoconAddMode.Prepend));
    }

    public static ActorSystem ActorSystem(this IHost host) => host.Services.GetRequiredService<ActorSystem>();

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<Task<string>> describe)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not reached within {timeout.TotalSeconds:0} s: {await describe()}");
            await Task.Delay(100);
        }
    }

    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> describe) =>
        WaitUntilAsync(() => Task.FromResult(condition()), timeout, () => Task.FromResult(describe()));

    public static async Task StopAllAsync(params IHost?[] hosts)
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await Task.WhenAll(hosts.OfType<IHost>().Select(host => host.StopAsync(patience.Token)));
        foreach (var host in hosts) host?.Dispose();
    }
}
