using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pipeline.Tests.Security;

/// <summary>
/// A certificate authority made in the test with <see cref="CertificateRequest"/> (no openssl), and node certificates
/// it issues as cert-manager would: ECDSA P-256, usable for TLS server and client authentication, named for 127.0.0.1.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    private TestCertificateAuthority(X509Certificate2 certificate) => Certificate = certificate;

    /// <summary>The CA's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public static TestCertificateAuthority Create(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}, O=Pipeline tests", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        return new TestCertificateAuthority(request.CreateSelfSigned(now.AddDays(-30), now.AddDays(30)));
    }

    /// <summary>A node certificate with its private key; <paramref name="usages"/> defaults to server and client authentication.</summary>
    public X509Certificate2 Issue(string commonName, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, Oid[]? usages = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}, O=Pipeline tests", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        var enhanced = new OidCollection();
        foreach (var usage in usages ?? [ServerAuthentication, ClientAuthentication]) enhanced.Add(usage);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(enhanced, critical: false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var now = DateTimeOffset.UtcNow;
        var from = notBefore ?? now.AddMinutes(-10);
        var until = notAfter ?? now.AddDays(1);
        using var issued = request.Create(Certificate, from, until, RandomNumberGenerator.GetBytes(12));
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Writes the CA certificate as PEM (cert-manager's <c>ca.crt</c>); returns its path.</summary>
    public string WriteCertificate(string folder, string file = "ca.crt")
    {
        var path = Path.Combine(folder, file);
        Directory.CreateDirectory(folder);
        File.WriteAllText(path, Certificate.ExportCertificatePem());
        return path;
    }

    public void Dispose() => Certificate.Dispose();
}

/// <summary>The files a node's TLS settings point at, as cert-manager's Secret holds them: tls.crt, tls.key, ca.crt.</summary>
public sealed record NodeCertificateFiles(string CertificatePath, string KeyPath, string CaCertificatePath)
{
    /// <summary>Writes <paramref name="certificate"/> and its key into <paramref name="folder"/>, with the CA <paramref name="trusted"/> trusts.</summary>
    public static NodeCertificateFiles Write(string folder, X509Certificate2 certificate, TestCertificateAuthority trusted)
    {
        Directory.CreateDirectory(folder);
        var certificatePath = Path.Combine(folder, "tls.crt");
        var keyPath = Path.Combine(folder, "tls.key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        using var key = certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return new NodeCertificateFiles(certificatePath, keyPath, trusted.WriteCertificate(folder));
    }

    /// <summary>The node's settings for mutual TLS with these files.</summary>
    public Dictionary<string, string?> Settings() => new()
    {
        ["Pipeline:Cluster:Tls:Enabled"] = "true",
        ["Pipeline:Cluster:Tls:CertificatePath"] = CertificatePath,
        ["Pipeline:Cluster:Tls:KeyPath"] = KeyPath,
        ["Pipeline:Cluster:Tls:CaCertificatePath"] = CaCertificatePath,
    };
}
