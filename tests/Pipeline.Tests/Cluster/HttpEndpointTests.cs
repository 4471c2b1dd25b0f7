using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Akka.Actor;
using Microsoft.Extensions.Hosting;
using Pipeline.Shared.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Xunit;

namespace Pipeline.Tests.Cluster;

/// <summary>/readyz, /healthz and /metrics over real HTTP on 127.0.0.1.</summary>
[Collection(ClusterCollection.Name)]
public sealed class HttpEndpointTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private sealed record Readiness(HttpStatusCode Status, string[] Failing, string[] Passing, string Body);

    private static async Task<Readiness> ReadinessAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/readyz");
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        return new Readiness(
            response.StatusCode,
            json.RootElement.GetProperty("failing").EnumerateArray().Select(check => check.GetProperty("name").GetString()!).ToArray(),
            json.RootElement.GetProperty("passing").EnumerateArray().Select(name => name.GetString()!).ToArray(),
            body);
    }

    [Fact]
    public async Task Readiness_is_503_naming_what_is_missing_until_the_node_has_joined_and_its_checks_pass()
    {
        var seedPort = TestNodes.FreePort();
        var httpPort = TestNodes.FreePort();
        var modelLoaded = new SwitchedCheck("no model loaded yet");
        // The node's only seed is not running yet, so it cannot join.
        var node = TestNodes.Builder("inspection-ready", TestNodes.FreePort(), [ClusterRoles.Scoring], [seedPort], httpPort)
            .AddReadinessCheck(ClusterRoles.Scoring, "model-loaded", _ => modelLoaded)
            .AddReadinessCheck(ClusterRoles.Ingest, "kafka-reachable", _ => new SwitchedCheck("an ingest check; this node does not ingest"))
            .Build();
        IHost? seed = null;
        try
        {
            await node.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };

            var alone = await ReadinessAsync(http);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, alone.Status);
            Assert.Equal(["cluster-member-up", "model-loaded"], alone.Failing.Order());
            Assert.Contains("has not joined the cluster", alone.Body);
            Assert.Contains("no model loaded yet", alone.Body);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);

            seed = TestNodes.Builder("inspection-ready", seedPort, [ClusterRoles.Ingest], [seedPort]).Build();
            await seed.StartAsync();
            await TestNodes.WaitUntilAsync(
                async () => (await ReadinessAsync(http)).Failing is ["model-loaded"],
                Patience,
                async () => (await ReadinessAsync(http)).Body);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await ReadinessAsync(http)).Status);

            modelLoaded.Pass();

            var ready = await ReadinessAsync(http);
            Assert.Equal(HttpStatusCode.OK, ready.Status);
            Assert.Empty(ready.Failing);
            Assert.Equal(["cluster-member-up", "model-loaded"], ready.Passing.Order());
        }
        finally
        {
            await TestNodes.StopAllAsync(node, seed);
        }
    }

    [Fact]
    public async Task Metrics_show_cluster_membership_and_Pipeline_meters_in_Prometheus_format()
    {
        var port = TestNodes.FreePort();
        var httpPort = TestNodes.FreePort();
        var node = TestNodes.Builder("inspection-metrics", port, [], [port], httpPort).Build();
        using var pipelineMeter = new Meter("Pipeline.Tests.Metrics");
        using var otherMeter = new Meter("Elsewhere.Tests.Metrics");
        try
        {
            await node.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
            await TestNodes.WaitUntilAsync(async () => (await ReadinessAsync(http)).Status == HttpStatusCode.OK, Patience, async () => (await ReadinessAsync(http)).Body);
            pipelineMeter.CreateCounter<long>("frames_scored").Add(3);
            otherMeter.CreateCounter<long>("frames_scored").Add(3);

            using var response = await http.GetAsync("/metrics");
            var text = await response.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("\npipeline_cluster_members_up 1\n", text);
            Assert.Contains("\npipeline_cluster_members_unreachable 0\n", text);
            Assert.Contains("\npipeline_tests_metrics_frames_scored 3\n", text);
            Assert.DoesNotContain("elsewhere_tests_metrics", text);
            Assert.Contains("process_cpu_seconds_total", text);
        }
        finally
        {
            await TestNodes.StopAllAsync(node);
        }
    }

    [Fact]
    public async Task Liveness_fails_once_the_actor_system_has_terminated()
    {
        var port = TestNodes.FreePort();
        var httpPort = TestNodes.FreePort();
        var node = TestNodes.Builder("inspection-alive", port, [ClusterRoles.Training], [port], httpPort).Build();
        try
        {
            await node.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);

            await node.ActorSystem().Terminate();

            using var response = await http.GetAsync("/healthz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("terminated", await response.Content.ReadAsStringAsync());
        }
        finally
        {
            await TestNodes.StopAllAsync(node);
        }
    }

    [Fact]
    public async Task Liveness_fails_naming_a_roles_liveness_check_that_fails_and_readiness_does_not_run_it()
    {
        var port = TestNodes.FreePort();
        var httpPort = TestNodes.FreePort();
        var consuming = new SwitchedCheck("the frames consumer is stalled");
        consuming.Pass();
        var node = TestNodes.Builder("inspection-live", port, [ClusterRoles.Training], [port], httpPort)
            .AddLivenessCheck(ClusterRoles.Training, "consuming", _ => consuming)
            .Build();
        try
        {
            await node.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
            await TestNodes.WaitUntilAsync(async () => (await ReadinessAsync(http)).Status == HttpStatusCode.OK, Patience, async () => (await ReadinessAsync(http)).Body);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);

            consuming.Fail();

            using var response = await http.GetAsync("/healthz");
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            using var json = JsonDocument.Parse(body);
            var failing = Assert.Single(json.RootElement.GetProperty("failing").EnumerateArray());
            Assert.Equal(("consuming", "the frames consumer is stalled"), (failing.GetProperty("name").GetString(), failing.GetProperty("reason").GetString()));
            Assert.Equal(HttpStatusCode.OK, (await ReadinessAsync(http)).Status);
        }
        finally
        {
            await TestNodes.StopAllAsync(node);
        }
    }

    /// <summary>A check the test switches: fails with its reason until <see cref="Pass"/>.</summary>
    private sealed class SwitchedCheck(string reason) : IAkkaHealthCheck
    {
        private volatile bool passing;

        public void Pass() => passing = true;

        public void Fail() => passing = false;

        public Task<HealthCheckResult> CheckHealthAsync(AkkaHealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(passing ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy(reason));
    }
}
