using System.Text.Json.Serialization;
using k8s.Models;

namespace Pipeline.Tests.Deploy;

// The custom resources the manifests use, as far as they use them. No package in the registries carries the Strimzi,
// Prometheus Operator or cert-manager schemas, so these typed models stand in for them: read strictly like the built-in
// kinds (an unknown field or a wrong type is an error), with the allowed values of a few fields checked in
// ManifestRules. The field names follow Strimzi's kafka.strimzi.io/v1beta2, the Prometheus Operator's
// monitoring.coreos.com/v1 and cert-manager's cert-manager.io/v1 APIs; a parameter without a default is required.

/// <summary>Strimzi <c>KafkaTopic</c> (kafka.strimzi.io/v1beta2).</summary>
internal sealed record KafkaTopic(
    [property: JsonPropertyName("apiVersion")] string ApiVersion,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("metadata")] V1ObjectMeta Metadata,
    [property: JsonPropertyName("spec")] KafkaTopicSpec Spec)
{
    /// <summary>The topic's name in Kafka: <c>spec.topicName</c>, else the resource's name.</summary>
    public string TopicName => Spec.TopicName ?? Metadata.Name;
}

internal sealed record KafkaTopicSpec(
    [property: JsonPropertyName("partitions")] int Partitions,
    [property: JsonPropertyName("replicas")] int Replicas,
    [property: JsonPropertyName("topicName")] string? TopicName = null,
    [property: JsonPropertyName("config")] Dictionary<string, System.Text.Json.JsonElement>? Config = null);

/// <summary>Strimzi <c>KafkaUser</c> (kafka.strimzi.io/v1beta2).</summary>
internal sealed record KafkaUser(
    [property: JsonPropertyName("apiVersion")] string ApiVersion,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("metadata")] V1ObjectMeta Metadata,
    [property: JsonPropertyName("spec")] KafkaUserSpec Spec);

internal sealed record KafkaUserSpec(
    [property: JsonPropertyName("authentication")] KafkaUserAuthentication? Authentication = null,
    [property: JsonPropertyName("authorization")] KafkaUserAuthorization? Authorization = null);

internal sealed record KafkaUserAuthentication([property: JsonPropertyName("type")] string Type);

internal sealed record KafkaUserAuthorization(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("acls")] List<KafkaAcl> Acls);

internal sealed record KafkaAcl(
    [property: JsonPropertyName("resource")] KafkaAclResource Resource,
    [property: JsonPropertyName("operations")] List<string> Operations,
    [property: JsonPropertyName("host")] string? Host = null,
    [property: JsonPropertyName("type")] string? Type = null);

internal sealed record KafkaAclResource(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("name")] string? Name = null,
    [property: JsonPropertyName("patternType")] string? PatternType = null);

/// <summary>Prometheus Operator <c>PodMonitor</c> (monitoring.coreos.com/v1).</summary>
internal sealed record PodMonitor(
    [property: JsonPropertyName("apiVersion")] string ApiVersion,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("metadata")] V1ObjectMeta Metadata,
    [property: JsonPropertyName("spec")] PodMonitorSpec Spec);

internal sealed record PodMonitorSpec(
    [property: JsonPropertyName("selector")] V1LabelSelector Selector,
    [property: JsonPropertyName("podMetricsEndpoints")] List<PodMetricsEndpoint> PodMetricsEndpoints,
    [property: JsonPropertyName("namespaceSelector")] PodMonitorNamespaceSelector? NamespaceSelector = null);

internal sealed record PodMetricsEndpoint(
    [property: JsonPropertyName("port")] string? Port = null,
    [property: JsonPropertyName("path")] string? Path = null,
    [property: JsonPropertyName("interval")] string? Interval = null,
    [property: JsonPropertyName("scheme")] string? Scheme = null,
    [property: JsonPropertyName("authorization")] SafeAuthorization? Authorization = null);

/// <summary>The credentials a scraper sends: <c>type</c> (Bearer by default) and the Secret key holding them.</summary>
internal sealed record SafeAuthorization(
    [property: JsonPropertyName("type")] string? Type = null,
    [property: JsonPropertyName("credentials")] V1SecretKeySelector? Credentials = null);

internal sealed record PodMonitorNamespaceSelector(
    [property: JsonPropertyName("any")] bool? Any = null,
    [property: JsonPropertyName("matchNames")] List<string>? MatchNames = null);

/// <summary>cert-manager <c>Issuer</c> (cert-manager.io/v1): self-signed, or a CA whose certificate and key are in a Secret.</summary>
internal sealed record CertManagerIssuer(
    [property: JsonPropertyName("apiVersion")] string ApiVersion,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("metadata")] V1ObjectMeta Metadata,
    [property: JsonPropertyName("spec")] CertManagerIssuerSpec Spec);

internal sealed record CertManagerIssuerSpec(
    [property: JsonPropertyName("selfSigned")] SelfSignedIssuer? SelfSigned = null,
    [property: JsonPropertyName("ca")] CaIssuer? Ca = null);

internal sealed record SelfSignedIssuer([property: JsonPropertyName("crlDistributionPoints")] List<string>? CrlDistributionPoints = null);

internal sealed record CaIssuer(
    [property: JsonPropertyName("secretName")] string SecretName,
    [property: JsonPropertyName("crlDistributionPoints")] List<string>? CrlDistributionPoints = null,
    [property: JsonPropertyName("ocspServers")] List<string>? OcspServers = null);

/// <summary>cert-manager <c>Certificate</c> (cert-manager.io/v1): cert-manager keeps <c>tls.crt</c>, <c>tls.key</c> and <c>ca.crt</c> in <see cref="CertificateSpec.SecretName"/>.</summary>
internal sealed record CertManagerCertificate(
    [property: JsonPropertyName("apiVersion")] string ApiVersion,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("metadata")] V1ObjectMeta Metadata,
    [property: JsonPropertyName("spec")] CertificateSpec Spec);

internal sealed record CertificateSpec(
    [property: JsonPropertyName("secretName")] string SecretName,
    [property: JsonPropertyName("issuerRef")] CertificateIssuerRef IssuerRef,
    [property: JsonPropertyName("isCA")] bool? IsCA = null,
    [property: JsonPropertyName("commonName")] string? CommonName = null,
    [property: JsonPropertyName("dnsNames")] List<string>? DnsNames = null,
    [property: JsonPropertyName("ipAddresses")] List<string>? IpAddresses = null,
    [property: JsonPropertyName("duration")] string? Duration = null,
    [property: JsonPropertyName("renewBefore")] string? RenewBefore = null,
    [property: JsonPropertyName("usages")] List<string>? Usages = null,
    [property: JsonPropertyName("privateKey")] CertificatePrivateKey? PrivateKey = null);

internal sealed record CertificateIssuerRef(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("kind")] string? Kind = null,
    [property: JsonPropertyName("group")] string? Group = null);

internal sealed record CertificatePrivateKey(
    [property: JsonPropertyName("algorithm")] string? Algorithm = null,
    [property: JsonPropertyName("size")] int? Size = null,
    [property: JsonPropertyName("encoding")] string? Encoding = null,
    [property: JsonPropertyName("rotationPolicy")] string? RotationPolicy = null);
