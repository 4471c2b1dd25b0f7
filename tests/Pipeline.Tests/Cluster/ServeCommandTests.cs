using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Pipeline.Tests.Cli;
using Xunit;

namespace Pipeline.Tests.Cluster;

/// <summary><c>pipeline serve</c> as a separate process: bad configuration ends it at once, SIGTERM ends it gracefully.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ServeCommandTests
{
    private static void AssertUserError(PipelineProcess.Outcome outcome, string mentioned) =>
        PipelineProcess.AssertUserError(outcome, mentioned);

    [Fact]
    public void An_unknown_role_on_the_command_line_is_named()
    {
        AssertUserError(PipelineProcess.Run("serve", "--roles", "ingest,scorer", "--http-port", "0"), "'scorer', which is not a role");
    }

    [Fact]
    public void A_bad_port_from_an_environment_variable_is_named_with_its_key()
    {
        var outcome = PipelineProcess.Run(new Dictionary<string, string> { ["Pipeline__Cluster__Port"] = "99999" }, "serve", "--http-port", "0");
        AssertUserError(outcome, "Pipeline:Cluster:Port is 99999");
    }

    [Fact]
    public void Roles_from_an_environment_variable_are_checked_too()
    {
        var outcome = PipelineProcess.Run(new Dictionary<string, string> { ["Pipeline__Cluster__Roles"] = "ingest,scorer" }, "serve", "--http-port", "0");
        AssertUserError(outcome, "'scorer', which is not a role");
    }

    [Fact]
    public void An_ingest_node_without_Kafka_brokers_is_refused_with_the_setting_to_make()
    {
        AssertUserError(PipelineProcess.Run("serve", "--roles", "ingest", "--port", "0", "--http-port", "0"), "Pipeline:Kafka:BootstrapServers is empty");
    }

    [Fact]
    public void A_scoring_node_with_a_missing_model_is_refused_naming_the_path()
    {
        var outcome = PipelineProcess.Run(new Dictionary<string, string> { ["Pipeline__Scoring__ModelPath"] = "/nowhere/model.dnfm" }, "serve", "--roles", "scoring", "--port", "0", "--http-port", "0");
        AssertUserError(outcome, "Pipeline:Scoring:ModelPath is '/nowhere/model.dnfm'");
    }

    [Fact]
    public void A_remoting_port_in_use_is_named()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var port = ((IPEndPoint)occupant.LocalEndpoint).Port;

        using var folder = new TempFolder();
        AssertUserError(PipelineProcess.Run(TrainingNodeSettings(folder.Path, "127.0.0.1:9"), "serve", "--roles", "training", "--port", port.ToString(CultureInfo.InvariantCulture), "--http-port", "0"),
            $"Failed to bind to [127.0.0.1:{port}]: another process is using the port");
    }

    [Fact]
    public async Task SIGTERM_makes_the_node_leave_the_cluster_and_exit_0()
    {
        var httpPort = TestNodes.FreePort();
        using var folder = new TempFolder();
        using var kafka = MockKafkaCluster.Start(brokers: 1);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in TrainingNodeSettings(folder.Path, kafka.BootstrapServers)) start.Environment[name] = value;
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "pipeline.dll"), "serve", "--roles", "training", "--port", "0", "--http-port", httpPort.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(argument);
        start.Environment["Logging__LogLevel__Default"] = "Information";
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, line) => { lock (output) output.AppendLine(line.Data); };
        process.ErrorDataReceived += (_, line) => { lock (output) output.AppendLine(line.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        string Output() { lock (output) return output.ToString(); }
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(2) };
            await TestNodes.WaitUntilAsync(async () =>
            {
                try { return (await http.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK; }
                catch (HttpRequestException) { return false; }
            }, TimeSpan.FromSeconds(30), () => Task.FromResult(Output()));

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(patience.Token);

            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{Output()}");
            Assert.Contains("Exiting completed", Output()); // the cluster leave ran to its end
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>What a training node needs: its registry and sample store, and Kafka (labels in, model events out).</summary>
    private static Dictionary<string, string> TrainingNodeSettings(string folder, string bootstrapServers) => new()
    {
        ["Pipeline__Training__RegistryPath"] = Path.Combine(folder, "registry"),
        ["Pipeline__Training__SampleStorePath"] = Path.Combine(folder, "samples"),
        ["Pipeline__Kafka__BootstrapServers"] = bootstrapServers,
    };
}
