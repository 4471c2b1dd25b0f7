using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Pipeline.Host.Hosting;
using Pipeline.Shared;
using Pipeline.Shared.Configuration;

namespace Pipeline.Host.Cli;

/// <summary>
/// <c>pipeline serve</c>: runs this process as a cluster node with the configured roles until Ctrl+C or SIGTERM,
/// then leaves the cluster gracefully. Configuration comes from appsettings.json next to the executable,
/// environment variables (<c>Pipeline__Cluster__Port=4054</c>) and the options below, which win.
/// </summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var roles = new Option<string?>("--roles") { Description = $"comma-separated roles of this node: {string.Join(", ", ClusterRoles.All)} (default all)" };
        var hostname = new Option<string?>("--hostname") { Description = "address remoting binds to (default 127.0.0.1)" };
        var publicHostname = new Option<string?>("--public-hostname") { Description = "address other nodes reach this one at, when it differs from --hostname" };
        var port = new Option<int?>("--port") { Description = "remoting TCP port (default 4053; 0 = any free port)" };
        var seedNodes = new Option<string?>("--seed-nodes") { Description = "comma-separated seed nodes, host:port or akka.tcp://system@host:port (akka.ssl.tcp:// with TLS; default: this node alone)" };
        var httpPort = new Option<int?>("--http-port") { Description = "port of /healthz, /readyz and /metrics (default 8080; 0 = off)" };
        var logFormat = new Option<string?>("--log-format") { Description = "console log format: simple (default) or json" };
        logFormat.AcceptOnlyFromAmong("simple", "json");
        var command = new Command("serve", "Run a cluster node (ingest, scoring and/or training) until Ctrl+C or SIGTERM, then leave the cluster gracefully.")
        {
            roles, hostname, publicHostname, port, seedNodes, httpPort, logFormat,
        };

        command.SetAction((parse, cancellation) => CommandRunner.RunAsync(async token =>
        {
            var overrides = new Dictionary<string, string?>();
            // Lists as one comma-separated value, which replaces a list from appsettings.json as a whole.
            AddList(overrides, $"{ClusterOptions.Section}:Roles", "--roles", parse.GetValue(roles));
            AddList(overrides, $"{ClusterOptions.Section}:SeedNodes", "--seed-nodes", parse.GetValue(seedNodes));
            Add(overrides, $"{ClusterOptions.Section}:Hostname", parse.GetValue(hostname));
            Add(overrides, $"{ClusterOptions.Section}:PublicHostname", parse.GetValue(publicHostname));
            Add(overrides, $"{ClusterOptions.Section}:Port", parse.GetValue(port)?.ToString(CultureInfo.InvariantCulture));
            Add(overrides, $"{HttpOptions.Section}:Port", parse.GetValue(httpPort)?.ToString(CultureInfo.InvariantCulture));
            Add(overrides, "Logging:Console:FormatterName", parse.GetValue(logFormat));

            using var host = PipelineHost.CreateBuilder(new PipelineHostSettings { Overrides = overrides }).WithPipelineRoles().Build();
            try
            {
                await host.StartAsync(token);
            }
            catch (Exception e) when (BindFailure(e) is { } failure)
            {
                throw new PipelineInputException($"{failure}: another process is using the port. Stop it, or choose another port " +
                                                 $"(--port / {ClusterOptions.Section}:Port for remoting, --http-port / {HttpOptions.Section}:Port for HTTP).", e);
            }
            var system = host.Services.GetRequiredService<ActorSystem>();
            await host.WaitForShutdownAsync(token);

            // The host also stops when the actor system terminates on its own, as when the split-brain resolver or
            // an operator downs this node. Exit non-zero then, so that an orchestrator restarts the node.
            var shutdown = CoordinatedShutdown.Get(system);
            if (shutdown.ShutdownReason is CoordinatedShutdown.ClusterDowningReason)
            {
                Console.Error.WriteLine("error: this node was downed by the cluster (split-brain resolver or an operator) and stopped; start it again to rejoin.");
                return CommandRunner.UnexpectedFailure;
            }
            return CommandRunner.Success;
        }, cancellation));
        return command;
    }

    /// <summary>The "failed to bind to …" message when starting failed because a port is taken (remoting or HTTP), else null.</summary>
    private static string? BindFailure(Exception e)
    {
        string? bind = null;
        for (Exception? cause = e; cause is not null; cause = cause.InnerException)
        {
            if (cause.Message.StartsWith("Failed to bind", StringComparison.OrdinalIgnoreCase)) bind ??= cause.Message;
            if (cause is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }) return (bind ?? "failed to bind").TrimEnd('.', ' ').Replace(". See InnerException for details", "");
        }
        return null;
    }

    private static void Add(Dictionary<string, string?> overrides, string key, string? value)
    {
        if (value is not null) overrides[key] = value;
    }

    private static void AddList(Dictionary<string, string?> overrides, string key, string option, string? commaSeparated)
    {
        if (commaSeparated is null) return;
        if (commaSeparated.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length == 0)
            throw new PipelineInputException($"{option} is empty; give at least one value, separated by commas.");
        overrides[key] = commaSeparated;
    }
}
