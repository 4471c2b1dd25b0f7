using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Cluster;
using Akka.Hosting;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Host.Hosting;
using Pipeline.Shared.Configuration;
using Xunit;

namespace Pipeline.Tests.Cluster;

/// <summary>
/// Cluster formation with <c>Pipeline:Cluster:Discovery = kubernetes</c>, end to end except for Kubernetes itself: a
/// stand-in for the Kubernetes API answers the pod list the way the API server does, and two nodes find each other
/// through Akka.Discovery.KubernetesApi and Akka.Management's cluster bootstrap, then form one cluster.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class KubernetesBootstrapTests
{
    private const string Namespace = "inspection-test";
    private const string Selector = "app.kubernetes.io/part-of=bootstrap-test";

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // as the production overlay runs them: remoting over mutual TLS
    public async Task Two_pods_found_through_the_kubernetes_api_form_one_cluster(bool tls)
    {
        // Pods are reached at their IP, never at a loopback address (the node refuses one), so the nodes use this
        // machine's own address.
        var podIp = NonLoopbackAddress();
        var management = new[] { TestNodes.FreePort(), TestNodes.FreePort() };
        await using var api = await FakeKubernetesApi.StartAsync(podIp, management);
        using var files = new TempFolder();
        var kubeconfig = Path.Combine(files.Path, "kubeconfig");
        // Outside a pod the node reaches the Kubernetes API through the kubeconfig; this one trusts the stand-in's
        // self-signed certificate.
        await File.WriteAllTextAsync(kubeconfig, $$"""
            apiVersion: v1
            kind: Config
            clusters: [{ name: fake, cluster: { server: "https://127.0.0.1:{{api.Port}}", insecure-skip-tls-verify: true } }]
            users: [{ name: fake, user: { token: test-token } }]
            contexts: [{ name: fake, context: { cluster: fake, user: fake, namespace: {{Namespace}} } }]
            current-context: fake
            """);
        var previousKubeconfig = Environment.GetEnvironmentVariable("KUBECONFIG");
        Environment.SetEnvironmentVariable("KUBECONFIG", kubeconfig);

        using var authority = Security.TestCertificateAuthority.Create("inspection cluster CA");
        var nodes = management.Select(port => Node(podIp, port,
            tls ? Security.NodeCertificateFiles.Write(Path.Combine(files.Path, $"tls-{port}"), authority.Issue($"pod-{port}"), authority).Settings() : [])).ToArray();
        try
        {
            await Task.WhenAll(nodes.Select(node => node.StartAsync()));
            var clusters = nodes.Select(node => Akka.Cluster.Cluster.Get(node.ActorSystem())).ToArray();
            await TestNodes.WaitUntilAsync(
                () => clusters.All(cluster => cluster.State.Members.Count(member => member.Status == MemberStatus.Up) == 2),
                TimeSpan.FromSeconds(30),
                () => string.Join("; ", clusters.Select(cluster => $"{cluster.SelfAddress} sees [{string.Join(", ", cluster.State.Members)}]")) +
                      $"; API requests: [{string.Join(", ", api.Requests)}]");

            Assert.All(clusters.SelectMany(cluster => cluster.State.Members), member => Assert.Equal(tls ? "akka.ssl.tcp" : "akka.tcp", member.Address.Protocol));
            Assert.NotEmpty(api.Requests);
            Assert.All(api.Requests, request => Assert.Equal(($"/api/v1/namespaces/{Namespace}/pods", Selector, "Bearer test-token"), request));
        }
        finally
        {
            await TestNodes.StopAllAsync(nodes);
            Environment.SetEnvironmentVariable("KUBECONFIG", previousKubeconfig);
        }
    }

    [Fact]
    public void Only_running_pods_with_an_ip_and_a_management_port_are_contact_points()
    {
        static V1Pod Pod(string name, string phase, string? ip, string? portName = "management", bool deleting = false) => new()
        {
            Metadata = new V1ObjectMeta { Name = name, DeletionTimestamp = deleting ? DateTime.UtcNow : null },
            Spec = new V1PodSpec
            {
                Containers = [new V1Container { Name = "pipeline", Ports = portName is null ? [] : [new V1ContainerPort { Name = portName, ContainerPort = 8558 }] }],
            },
            Status = new V1PodStatus { Phase = phase, PodIP = ip },
        };

        var targets = KubernetesPodDiscovery.Targets(
            [
                Pod("running", "Running", "10.0.0.1"),
                Pod("pending", "Pending", null),
                Pod("no-ip-yet", "Running", null),
                Pod("terminating", "Running", "10.0.0.2", deleting: true),
                Pod("other-port", "Running", "10.0.0.3", portName: "http"),
                Pod("ipv6", "Running", "fd00::4"),
            ],
            ClusterOptions.ManagementPortName).ToArray();

        Assert.Equal([("10.0.0.1", (int?)8558), ("fd00::4", 8558)], targets.Select(target => (target.Host, target.Port)));
    }

    private static IHost Node(IPAddress podIp, int managementPort, Dictionary<string, string?> settings)
    {
        var overrides = new Dictionary<string, string?>
        {
            [$"{ClusterOptions.Section}:ActorSystemName"] = "inspection-k8s",
            [$"{ClusterOptions.Section}:Roles:0"] = ClusterRoles.Training,
            [$"{ClusterOptions.Section}:Hostname"] = podIp.ToString(),
            [$"{ClusterOptions.Section}:Port"] = TestNodes.FreePort().ToString(CultureInfo.InvariantCulture),
            [$"{ClusterOptions.Section}:Discovery"] = ClusterOptions.KubernetesDiscovery,
            [$"{ClusterOptions.Section}:ManagementPort"] = managementPort.ToString(CultureInfo.InvariantCulture),
            [$"{ClusterOptions.Section}:KubernetesPodLabelSelector"] = Selector,
            [$"{ClusterOptions.Section}:RequiredContactPoints"] = "2",
            [$"{HttpOptions.Section}:Port"] = "0",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings) overrides[key] = value;
        return PipelineHost.CreateBuilder(new PipelineHostSettings { UseDefaultSources = false, Overrides = overrides })
            .ConfigureAkka((akka, _) => akka.AddHocon("""
                # Decide sooner than in production, where pods appear over seconds.
                akka.management.cluster.bootstrap {
                  contact-point-discovery { stable-margin = 1s, interval = 500ms }
                  contact-point.probe-interval = 500ms
                }
                akka.remote.retry-gate-closed-for = 200ms
                """, HoconAddMode.Prepend))
            .Build();
    }

    private static IPAddress NonLoopbackAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(nic => nic.OperationalStatus == OperationalStatus.Up && nic.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(nic => nic.GetIPProperties().UnicastAddresses)
            .Select(unicast => unicast.Address)
            .FirstOrDefault(address => address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(address))
        ?? throw new InvalidOperationException("this machine has no IPv4 address besides loopback; the Kubernetes bootstrap test needs one to stand in for a pod IP.");

    /// <summary>
    /// Answers <c>GET /api/v1/namespaces/{ns}/pods</c> over HTTPS with two running pods at <c>podIp</c>, each with a
    /// container port named <c>management</c>, and records what it was asked.
    /// </summary>
    private sealed class FakeKubernetesApi : IAsyncDisposable
    {
        private readonly WebApplication app;

        private FakeKubernetesApi(WebApplication app, int port) => (this.app, Port) = (app, port);

        public int Port { get; }

        /// <summary>Path, label selector and authorization header of every request.</summary>
        public ConcurrentQueue<(string Path, string? LabelSelector, string Authorization)> Requests { get; } = new();

        public static async Task<FakeKubernetesApi> StartAsync(IPAddress podIp, int[] managementPorts)
        {
            var port = TestNodes.FreePort();
            var web = WebApplication.CreateSlimBuilder();
            web.Logging.ClearProviders();
            web.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(SelfSignedCertificate())));
            var app = web.Build();
            var api = new FakeKubernetesApi(app, port);
            app.MapGet("/api/v1/namespaces/{ns}/pods", (HttpRequest request, string ns) =>
            {
                api.Requests.Enqueue((request.Path.ToString(), request.Query["labelSelector"].SingleOrDefault(), request.Headers.Authorization.ToString()));
                var pods = managementPorts.Select((managementPort, i) => new
                {
                    metadata = new { name = $"pipeline-{i}", @namespace = ns, labels = new Dictionary<string, string> { ["app.kubernetes.io/part-of"] = "bootstrap-test" } },
                    spec = new { containers = new[] { new { name = "pipeline", ports = new[] { new { name = "management", containerPort = managementPort, protocol = "TCP" } } } } },
                    status = new { phase = "Running", podIP = podIp.ToString() },
                });
                return Results.Json(new { apiVersion = "v1", kind = "PodList", metadata = new { }, items = pods });
            });
            await app.StartAsync();
            return api;
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        private static X509Certificate2 SelfSignedCertificate()
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=kubernetes-api-stand-in", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
            // Through PKCS#12 so that the private key is usable by the TLS stack on Linux.
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
        }
    }
}
