using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s.Models;

namespace Pipeline.Tests.Deploy;

/// <summary>
/// Checks objects against the Kubernetes API's types: each one is read into KubernetesClient's typed model of its
/// apiVersion and kind (generated from the Kubernetes OpenAPI specification) with System.Text.Json, refusing unknown
/// fields and values of the wrong type, as the API server's strict decoding does (a misspelt <c>replica:</c>, a number
/// where an environment variable's value must be a string). The custom resources use <see cref="KafkaTopic"/>,
/// <see cref="KafkaUser"/>, <see cref="PodMonitor"/>, <see cref="CertManagerIssuer"/> and <see cref="CertManagerCertificate"/>.
/// </summary>
internal static class KubernetesSchema
{
    private static readonly JsonSerializerOptions Strict = new()
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    private static readonly Dictionary<string, Type> Types = BuildTypes();

    /// <summary>The typed object, or null with the reason in <paramref name="problem"/>.</summary>
    public static object? Read(JsonObject obj, out string? problem)
    {
        var apiVersion = obj["apiVersion"]?.GetValue<string>();
        var kind = obj["kind"]?.GetValue<string>();
        var name = $"{kind} {obj["metadata"]?["name"]}";
        if (apiVersion is null || kind is null || !Types.TryGetValue($"{apiVersion}/{kind}", out var type))
        {
            problem = $"{name}: apiVersion {apiVersion} kind {kind} is not a type the tests know (a Kubernetes API type or one of the custom resources in CustomResources.cs).";
            return null;
        }
        try
        {
            problem = null;
            return obj.Deserialize(type, Strict);
        }
        catch (JsonException e)
        {
            problem = $"{name} does not match the schema of {apiVersion} {kind}: {e.Message}";
            return null;
        }
    }

    private static Dictionary<string, Type> BuildTypes()
    {
        var types = typeof(V1Pod).Assembly.GetTypes()
            .Select(type => (Type: type, Entity: type.GetCustomAttribute<KubernetesEntityAttribute>()))
            .Where(entry => entry.Entity is { Kind: not null } && !entry.Type.Name.EndsWith("List", StringComparison.Ordinal))
            .ToDictionary(
                entry => $"{(string.IsNullOrEmpty(entry.Entity!.Group) ? "" : entry.Entity.Group + "/")}{entry.Entity.ApiVersion}/{entry.Entity.Kind}",
                entry => entry.Type);
        types["kafka.strimzi.io/v1beta2/KafkaTopic"] = typeof(KafkaTopic);
        types["kafka.strimzi.io/v1beta2/KafkaUser"] = typeof(KafkaUser);
        types["monitoring.coreos.com/v1/PodMonitor"] = typeof(PodMonitor);
        types["cert-manager.io/v1/Issuer"] = typeof(CertManagerIssuer);
        types["cert-manager.io/v1/Certificate"] = typeof(CertManagerCertificate);
        return types;
    }
}
