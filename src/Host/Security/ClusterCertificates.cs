using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Remote.Transport.DotNetty;
using Microsoft.Extensions.Logging;
using Pipeline.Shared;
using Pipeline.Shared.Configuration;

namespace Pipeline.Host.Security;

/// <summary>
/// This node's remoting certificate and the CAs whose node certificates it accepts (<see cref="ClusterTlsOptions"/>),
/// read once when the node starts, and the check each peer's certificate must pass.
/// </summary>
/// <remarks>
/// Akka.Remote 1.5.73 validates a peer against the system's CA store unless it is given a
/// <see cref="CertificateValidationCallback"/> (<c>SslOptions.CustomValidator</c> in Akka.Remote.Hosting), which then
/// decides alone, on both ends of every connection: the dialling node checks the listener's certificate and the
/// listener, which asks for a client certificate (<c>RequireMutualAuthentication</c>), checks the dialler's. This class
/// is that callback. It builds the chain with only <see cref="Authorities"/> as trust anchors (custom root trust, the
/// system store ignored) and requires the certificate to be valid now and usable for both TLS server and client
/// authentication. Host names are not compared: pods dial each other by IP, and the CA issues certificates for this
/// cluster only, so being issued by it is what makes a peer one of ours.
/// </remarks>
public sealed class ClusterCertificates
{
    private const string Key = ClusterTlsOptions.Section;
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    private readonly TimeProvider time;

    private ClusterCertificates(X509Certificate2 node, X509Certificate2Collection authorities, TimeProvider time)
    {
        Node = node;
        Authorities = authorities;
        this.time = time;
    }

    /// <summary>This node's certificate, with its private key.</summary>
    public X509Certificate2 Node { get; }

    /// <summary>The CA certificates a peer's certificate must chain to.</summary>
    public X509Certificate2Collection Authorities { get; }

    /// <summary>Reads and checks the files of validated, enabled <paramref name="options"/>.</summary>
    /// <exception cref="PipelineInputException">A file cannot be used; the message names the setting, the file and why.</exception>
    public static ClusterCertificates Load(ClusterTlsOptions options, TimeProvider? time = null)
    {
        var authorities = LoadAuthorities(options.CaCertificatePath!);
        var node = LoadNodeCertificate(options);
        var certificates = new ClusterCertificates(node, authorities, time ?? TimeProvider.System);
        if (certificates.Verify(node, presented: null) is { } problem)
            throw new PipelineInputException(
                $"{Key}:CertificatePath '{options.CertificatePath}' holds {Describe(node)}, which the CAs in {Key}:CaCertificatePath '{options.CaCertificatePath}' do not vouch for: {problem}. " +
                "Other nodes would refuse this one; mount the certificate the cluster's CA issued for it (docs/deploy.md).");
        return certificates;
    }

    /// <summary>Why <paramref name="certificate"/> is not a node certificate of this cluster, or null when it is.</summary>
    /// <param name="presented">The chain the peer sent, for intermediate CAs it includes.</param>
    public string? Verify(X509Certificate2 certificate, X509Chain? presented)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Authorities);
        // cert-manager's CA issuer publishes no revocation lists; a compromised certificate is dealt with by replacing
        // the CA (docs/operations.md), and node certificates live for days, not years.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = time.GetUtcNow().UtcDateTime;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ServerAuthentication));
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ClientAuthentication));
        foreach (var element in presented?.ChainElements.Skip(1) ?? [])
            chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        if (chain.Build(certificate)) return null;
        var statuses = chain.ChainStatus.Where(status => status.Status != X509ChainStatusFlags.NoError).ToArray();
        return statuses.Length == 0
            ? "its chain could not be built"
            : string.Join("; ", statuses.Select(status => $"{status.Status} ({status.StatusInformation.Trim().TrimEnd('.')})"));
    }

    /// <summary>The check Akka.Remote runs on the certificate of each peer, on both ends of a connection; refusals are logged as warnings.</summary>
    public CertificateValidationCallback PeerValidator(ILogger log) => (certificate, chain, peer, _, _) =>
    {
        if (certificate is null)
        {
            log.LogWarning("Refused the remoting connection with {Peer}: it presented no certificate, and this cluster accepts only nodes with a certificate from its CA ({Key})", peer, Key);
            return false;
        }
        if (Verify(certificate, chain) is not { } problem) return true;
        log.LogWarning("Refused the remoting connection with {Peer}: its certificate {Certificate} is not from the cluster's CA: {Problem}", peer, Describe(certificate), problem);
        return false;
    };

    /// <summary>Subject, issuer, validity and thumbprint, for logs and messages (nothing secret).</summary>
    public static string Describe(X509Certificate2 certificate) =>
        $"'{certificate.Subject}' (issued by '{certificate.Issuer}', valid until {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC, SHA-1 {certificate.Thumbprint})";

    private static X509Certificate2Collection LoadAuthorities(string path)
    {
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new PipelineInputException($"{Key}:CaCertificatePath '{path}' cannot be read as PEM certificates: {e.Message}", e);
        }
        if (authorities.Count == 0)
            throw new PipelineInputException($"{Key}:CaCertificatePath '{path}' holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the CA certificate (cert-manager's ca.crt).");
        foreach (var authority in authorities)
        {
            if (authority.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
                throw new PipelineInputException($"{Key}:CaCertificatePath '{path}' holds {Describe(authority)}, which is not a CA certificate (its basic constraints do not let it issue certificates); give the CA's certificate (cert-manager's ca.crt), not a node's.");
        }
        return authorities;
    }

    private static X509Certificate2 LoadNodeCertificate(ClusterTlsOptions options)
    {
        X509Certificate2 certificate;
        try
        {
            if (options.IsPkcs12)
            {
                certificate = X509CertificateLoader.LoadPkcs12FromFile(options.CertificatePath!, options.CertificatePassword);
            }
            else
            {
                using var pem = X509Certificate2.CreateFromPemFile(options.CertificatePath!, options.KeyPath);
                // The key read from PEM is ephemeral; SslStream needs it in a PKCS#12 form on some platforms (Windows),
                // so it is carried over once here.
                certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
            }
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            var what = options.IsPkcs12
                ? $"{Key}:CertificatePath '{options.CertificatePath}' cannot be read as PKCS#12 (is {Key}:CertificatePassword right?)"
                : $"{Key}:CertificatePath '{options.CertificatePath}' and {Key}:KeyPath '{options.KeyPath}' cannot be read as a PEM certificate and its unencrypted PEM private key";
            throw new PipelineInputException($"{what}: {e.Message}", e);
        }
        if (!certificate.HasPrivateKey)
            throw new PipelineInputException($"{Key}:CertificatePath '{options.CertificatePath}' holds {Describe(certificate)} without its private key; the node needs the key to prove it is the certificate's holder.");
        return certificate;
    }
}
