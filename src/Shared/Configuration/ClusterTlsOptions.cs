namespace Pipeline.Shared.Configuration;

/// <summary>
/// Mutual TLS for the cluster's remoting (Akka.Remote over DotNetty): every node presents its certificate and accepts
/// only peers whose certificate chains to one of the CAs in <see cref="CaCertificatePath"/>. Off by default (the demo,
/// a node on its own, tests); on in the production overlay, with the files from cert-manager's Secret. Bound from the
/// <c>Pipeline:Cluster:Tls</c> section and checked by <see cref="ClusterTlsOptionsValidator"/>; the files are read and
/// checked once, when the node starts (a renewed certificate takes effect at the next start, docs/operations.md).
/// </summary>
public sealed class ClusterTlsOptions
{
    public const string Section = "Pipeline:Cluster:Tls";

    /// <summary>Remoting over TLS with client certificates (addresses become <c>akka.ssl.tcp://…</c>).</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// This node's certificate: a PEM file (cert-manager's <c>tls.crt</c>, the key in <see cref="KeyPath"/>) or a
    /// PKCS#12 file ending in <c>.pfx</c> or <c>.p12</c> that holds the key too.
    /// </summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of a PEM <see cref="CertificatePath"/> (cert-manager's <c>tls.key</c>).</summary>
    public string? KeyPath { get; set; }

    /// <summary>Password of a PKCS#12 <see cref="CertificatePath"/>, if it has one (from a Secret, never a manifest).</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>
    /// PEM file of the CA certificates whose node certificates this node accepts (cert-manager's <c>ca.crt</c>). Several
    /// may be listed while a CA is replaced. Only these are trusted: not the system's store.
    /// </summary>
    public string? CaCertificatePath { get; set; }

    /// <summary>Whether <see cref="CertificatePath"/> is a PKCS#12 file (by its extension) rather than PEM.</summary>
    public bool IsPkcs12 =>
        CertificatePath is { } path && (path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase));
}
