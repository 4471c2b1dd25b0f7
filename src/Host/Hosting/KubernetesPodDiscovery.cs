using System.Net;
using Akka.Actor;
using Akka.Discovery;
using Akka.Event;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Config = Akka.Configuration.Config;

namespace Pipeline.Host.Hosting;

/// <summary>
/// Akka.Discovery through the Kubernetes API, for cluster bootstrap: the running pods of this node's namespace that
/// match <see cref="Pipeline.Shared.Configuration.ClusterOptions.KubernetesPodLabelSelector"/>, each at its pod IP and
/// the container port of the asked name (<c>management</c>). Needs <c>list</c> on pods in the namespace (RBAC).
/// </summary>
/// <remarks>
/// Akka.Discovery.KubernetesApi 1.5.73 does the same but is built against KubernetesClient 17, whose models changed
/// in the versions the package registry serves (19 and 21): its lookup fails with <c>MissingMethodException</c> for
/// <c>V1PodList..ctor</c>. This is the same lookup on KubernetesClient 19. Inside a pod it connects with the service
/// account (in-cluster configuration, token re-read as it rotates); elsewhere with the kubeconfig (<c>KUBECONFIG</c>).
/// </remarks>
public sealed class KubernetesPodDiscovery : ServiceDiscovery
{
    /// <summary>Akka.Discovery method name; its settings are under <c>akka.discovery.pipeline-kubernetes-api</c>.</summary>
    public const string Method = "pipeline-kubernetes-api";

    private readonly ILoggingAdapter log;
    private readonly string labelSelector;
    private readonly Lazy<(Kubernetes Client, string Namespace)> api;

    public KubernetesPodDiscovery(ExtendedActorSystem system, Config config)
    {
        log = Logging.GetLogger(system, this);
        labelSelector = config.GetString("pod-label-selector");
        api = new Lazy<(Kubernetes, string)>(Connect);
    }

    /// <summary>HOCON that makes this the default discovery method, finding the pods that match <paramref name="labelSelector"/>.</summary>
    public static string Hocon(string labelSelector) => $$"""
        akka.discovery {
          method = {{Method}}
          {{Method}} {
            class = "{{typeof(KubernetesPodDiscovery).AssemblyQualifiedName}}"
            pod-label-selector = "{{labelSelector.Replace("\\", "\\\\").Replace("\"", "\\\"")}}"
          }
        }
        """;

    public override async Task<Resolved> Lookup(Lookup lookup, TimeSpan resolveTimeout)
    {
        var (client, ns) = api.Value;
        using var timeout = new CancellationTokenSource(resolveTimeout);
        V1PodList pods;
        try
        {
            pods = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: labelSelector, cancellationToken: timeout.Token);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
        {
            throw new InvalidOperationException(
                $"The Kubernetes API refused to list the pods of namespace {ns} ({(int)e.Response.StatusCode}); give this pod's service account " +
                "get and list on pods there (a Role and RoleBinding, see k8s/base/rbac.yaml).", e);
        }

        var targets = Targets(pods.Items, lookup.PortName).ToList();
        if (targets.Count == 0)
            log.Warning("No running pod of namespace {0} matches [{1}] with a container port named [{2}] yet ({3} pods match the selector).",
                ns, labelSelector, lookup.PortName, pods.Items.Count);
        return new Resolved(lookup.ServiceName, targets);
    }

    /// <summary>
    /// Contact points among <paramref name="pods"/>: those running, not being deleted, with an IP; at the container port
    /// named <paramref name="portName"/> (a pod without one is skipped; no port at all when no name is asked).
    /// </summary>
    public static IEnumerable<ResolvedTarget> Targets(IEnumerable<V1Pod> pods, string? portName)
    {
        foreach (var pod in pods)
        {
            if (pod.Metadata?.DeletionTimestamp is not null || pod.Status?.Phase != "Running" || !IPAddress.TryParse(pod.Status.PodIP, out var ip))
                continue;
            int? port = null;
            if (!string.IsNullOrEmpty(portName))
            {
                port = pod.Spec?.Containers?.SelectMany(container => container.Ports ?? []).FirstOrDefault(p => p.Name == portName)?.ContainerPort;
                if (port is null) continue;
            }
            yield return new ResolvedTarget(pod.Status.PodIP, port, ip);
        }
    }

    private (Kubernetes, string) Connect()
    {
        var config = KubernetesClientConfiguration.IsInCluster()
            ? KubernetesClientConfiguration.InClusterConfig()
            : KubernetesClientConfiguration.BuildDefaultConfig();
        var ns = string.IsNullOrWhiteSpace(config.Namespace) ? "default" : config.Namespace;
        log.Info("Finding cluster members among the pods of namespace {0} labelled [{1}] through the Kubernetes API at {2}", ns, labelSelector, config.Host);
        return (new Kubernetes(config), ns);
    }
}
