using System.Text.Json.Nodes;
using k8s.Models;
using Microsoft.Extensions.Configuration;

namespace Pipeline.Tests.Deploy;

/// <summary>Where the repository's deployment files are, and the objects an overlay renders.</summary>
internal static class DeployFiles
{
    public static readonly string RepositoryRoot = FindRepositoryRoot();

    public static string Overlay(string name) => Path.Combine(RepositoryRoot, "k8s", "overlays", name);

    public static List<JsonObject> Render(string overlay) => Kustomize.Render(Overlay(overlay));

    /// <summary>The defaults every node starts from: the appsettings.json the image carries next to the executable.</summary>
    public static IReadOnlyDictionary<string, string?> AppSettings { get; } = new ConfigurationBuilder()
        .AddJsonFile(Path.Combine(RepositoryRoot, "src", "Host", "appsettings.json"))
        .Build()
        .AsEnumerable()
        .Where(entry => entry.Value is not null)
        .ToDictionary(entry => entry.Key, entry => entry.Value, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The Secret <c>pipeline-kafka</c> each overlay expects, with what docs/deploy.md puts in it (the password stands
    /// for the one Strimzi generates). The pods read the Kafka connection from it.
    /// </summary>
    public static IReadOnlyDictionary<string, string> KafkaSecret(string overlay) => overlay switch
    {
        "dev" => new Dictionary<string, string>
        {
            ["bootstrap.servers"] = "factory-kafka-bootstrap.kafka.svc:9092",
        },
        "production" => new Dictionary<string, string>
        {
            ["bootstrap.servers"] = "factory-kafka-bootstrap.kafka.svc:9093",
            ["security.protocol"] = "sasl_ssl",
            ["sasl.mechanism"] = "SCRAM-SHA-512",
            ["sasl.username"] = "inspection-pipeline",
            ["sasl.password"] = "generated-by-the-user-operator",
            ["ssl.ca.location"] = "/etc/pipeline/kafka-ca/ca.crt",
        },
        _ => throw new ArgumentException($"no Kafka Secret is known for overlay {overlay}", nameof(overlay)),
    };

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Pipeline.sln"))) return directory.FullName;
        }
        throw new DirectoryNotFoundException($"no Pipeline.sln above {AppContext.BaseDirectory}; the deployment tests read k8s/ from the repository.");
    }
}

/// <summary>A Deployment or StatefulSet of the pipeline, with its pod template.</summary>
internal sealed record Workload(string Kind, V1ObjectMeta Metadata, int Replicas, V1LabelSelector Selector, V1PodTemplateSpec Template, V1StatefulSetSpec? StatefulSet)
{
    public string Name => Metadata.Name;

    public string? Namespace => Metadata.NamespaceProperty;

    public override string ToString() => $"{Kind} {Name}";

    public V1PodSpec Pod => Template.Spec;

    public IDictionary<string, string> PodLabels => Template.Metadata?.Labels ?? new Dictionary<string, string>();

    public static Workload? From(object typed) => typed switch
    {
        V1Deployment d => new Workload("Deployment", d.Metadata, d.Spec.Replicas ?? 1, d.Spec.Selector, d.Spec.Template, null),
        V1StatefulSet s => new Workload("StatefulSet", s.Metadata, s.Spec.Replicas ?? 1, s.Spec.Selector, s.Spec.Template, s.Spec),
        _ => null,
    };
}
