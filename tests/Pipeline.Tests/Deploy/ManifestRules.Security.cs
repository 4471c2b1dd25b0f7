using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using k8s.Models;
using Pipeline.Shared.Configuration;
using Pipeline.Tests.Security;

namespace Pipeline.Tests.Deploy;

/// <summary>
/// The rules for mutual TLS on remoting and for the HTTP endpoints' access tokens: the files the settings name are in
/// the Secrets that hold them (cert-manager's Certificates, the signing keys' Secret), mounted so that rotation works,
/// and every node of the cluster agrees on TLS and trusts the same CA.
/// </summary>
internal static partial class ManifestRules
{
    /// <summary>The Secret whose keys sign the access tokens (docs/deploy.md makes it).</summary>
    public const string SigningKeysSecret = "pipeline-http-keys";

    /// <summary>The TLS settings and the key of cert-manager's Secret each must point at.</summary>
    private static readonly (string Setting, string SecretKey, string What)[] TlsFiles =
    [
        ("CertificatePath", "tls.crt", "the node's certificate"),
        ("KeyPath", "tls.key", "its private key"),
        ("CaCertificatePath", "ca.crt", "the CA's certificate"),
    ];

    private static void CheckClusterTls(Dictionary<Workload, IReadOnlyDictionary<string, string?>> configs, List<object> typed, List<string> problems)
    {
        var enabled = configs.ToDictionary(entry => entry.Key, entry => bool.TryParse(EffectiveSetting(entry.Value, ClusterTlsOptions.Section, "Enabled", new ClusterTlsOptions()), out var on) && on);
        if (enabled.Values.Distinct().Count() > 1)
        {
            problems.Add($"{string.Join(", ", enabled.Where(e => e.Value).Select(e => e.Key))} run remoting over TLS but {string.Join(", ", enabled.Where(e => !e.Value).Select(e => e.Key))} do not " +
                         "(Pipeline__Cluster__Tls__Enabled); nodes with and without TLS cannot form one cluster.");
        }

        var issuers = new Dictionary<Workload, string>();
        foreach (var (workload, config) in configs.Where(entry => enabled[entry.Key]))
        {
            if (CertificateOf(workload, config, typed, problems) is not { } certificate) continue;
            var issuer = $"{certificate.Spec.IssuerRef.Kind ?? "Issuer"} {certificate.Spec.IssuerRef.Name}";
            issuers[workload] = issuer;
            CheckCertificate(certificate, typed, problems);
        }
        if (issuers.Values.Distinct().Count() > 1)
            problems.Add($"the nodes' certificates come from different issuers ({string.Join(", ", issuers.Select(entry => $"{entry.Key}: {entry.Value}"))}); each node accepts only peers from its own CA, so they would refuse each other.");
    }

    /// <summary>The cert-manager Certificate whose Secret holds the workload's TLS files, checking how the files are mounted and named.</summary>
    private static CertManagerCertificate? CertificateOf(Workload workload, IReadOnlyDictionary<string, string?> config, List<object> typed, List<string> problems)
    {
        var container = Node(workload);
        string? secretName = null;
        foreach (var (setting, secretKey, what) in TlsFiles)
        {
            if (Setting(config, ClusterTlsOptions.Section, setting) is not { Length: > 0 } path) continue; // the node itself names a missing setting
            var mount = (container.VolumeMounts ?? []).FirstOrDefault(m => IsUnder(path, m.MountPath));
            var volume = workload.Pod.Volumes?.FirstOrDefault(v => v.Name == mount?.Name);
            if (mount is null || volume?.Secret is null)
            {
                problems.Add($"{workload}: Pipeline__Cluster__Tls__{setting} is {path}, which is not in a mounted Secret; mount the Secret of the node's cert-manager Certificate there.");
                continue;
            }
            var key = path[(mount.MountPath.TrimEnd('/').Length + 1)..];
            if (!string.IsNullOrEmpty(mount.SubPath))
                problems.Add($"{workload}: volume {mount.Name} is mounted with subPath, which Kubernetes never updates; mount the whole Secret so that a renewed certificate reaches the pod.");
            else if (key != secretKey)
                problems.Add($"{workload}: Pipeline__Cluster__Tls__{setting} is {path}, but cert-manager writes {what} as {secretKey} (here {mount.MountPath}/{secretKey}).");
            if (volume.Secret.Optional == true)
                problems.Add($"{workload}: the certificate Secret {volume.Secret.SecretName} is mounted optional; without it the node cannot start, so let the pod wait for it (remove optional).");
            if (secretName is not null && secretName != volume.Secret.SecretName)
                problems.Add($"{workload}: its TLS files come from two Secrets ({secretName}, {volume.Secret.SecretName}); the certificate, its key and the CA come from one Certificate's Secret.");
            secretName ??= volume.Secret.SecretName;
        }
        if (secretName is null) return null;
        var certificate = typed.OfType<CertManagerCertificate>().FirstOrDefault(c => c.Spec.SecretName == secretName && c.Metadata.NamespaceProperty == workload.Namespace);
        if (certificate is null)
            problems.Add($"{workload}: the Secret {secretName} it reads its TLS files from is made by no cert-manager Certificate in namespace {workload.Namespace}.");
        return certificate;
    }

    private static void CheckCertificate(CertManagerCertificate certificate, List<object> typed, List<string> problems)
    {
        var name = $"Certificate {certificate.Metadata.Name}";
        var usages = certificate.Spec.Usages ?? [];
        foreach (var needed in new[] { "server auth", "client auth" }.Where(needed => usages.Count > 0 && !usages.Contains(needed)))
            problems.Add($"{name}: its usages lack '{needed}'; every node both accepts connections and dials its peers, so it needs server auth and client auth.");
        if (certificate.Spec.IsCA == true)
            problems.Add($"{name} is a CA certificate; a node presents a certificate the CA issued for it, not the CA's own.");
        if (GoDuration(certificate.Spec.Duration ?? "2160h") is { } duration && GoDuration(certificate.Spec.RenewBefore ?? "720h") is { } renewBefore && renewBefore >= duration)
            problems.Add($"{name}: renewBefore {certificate.Spec.RenewBefore} is not shorter than its duration {certificate.Spec.Duration ?? "2160h"}.");

        var reference = certificate.Spec.IssuerRef;
        if (reference.Kind is not (null or "Issuer") || reference.Group is not (null or "cert-manager.io"))
        {
            problems.Add($"{name}: issuerRef {reference.Group}/{reference.Kind} {reference.Name} is not an Issuer of the manifests; the rules check a namespaced cert-manager Issuer.");
            return;
        }
        var issuer = typed.OfType<CertManagerIssuer>().FirstOrDefault(i => i.Metadata.Name == reference.Name && i.Metadata.NamespaceProperty == certificate.Metadata.NamespaceProperty);
        if (issuer is null)
            problems.Add($"{name}: its issuer {reference.Name} is not an Issuer in namespace {certificate.Metadata.NamespaceProperty}.");
        else if (issuer.Spec.Ca is not { } ca)
            problems.Add($"{name}: its issuer {reference.Name} is not a CA issuer (spec.ca); a self-signed node certificate chains to nothing the other nodes trust.");
        else if (!typed.OfType<CertManagerCertificate>().Any(c => c.Spec.SecretName == ca.SecretName && c.Spec.IsCA == true && c.Metadata.NamespaceProperty == issuer.Metadata.NamespaceProperty))
            problems.Add($"Issuer {issuer.Metadata.Name}: its CA Secret {ca.SecretName} is made by no Certificate with isCA: true in the manifests (docs/deploy.md).");
    }

    /// <summary>
    /// The training role's control endpoints need signing keys, from a whole mounted Secret (a subPath mount is never
    /// updated, so key rotation would need restarts); protected metrics need a scraper that sends a token.
    /// </summary>
    private static void CheckAccessTokens(Workload workload, string role, IReadOnlyDictionary<string, string?> config, List<object> typed, List<string> problems)
    {
        var path = Setting(config, HttpAuthOptions.Section, "SigningKeysPath");
        if (string.IsNullOrEmpty(path))
        {
            if (role == ClusterRoles.Training)
                problems.Add($"{workload}: the training role's control endpoints (refit, promote, rollback) would refuse every request; set Pipeline__Http__Auth__SigningKeysPath to the mounted Secret {SigningKeysSecret}.");
        }
        else
        {
            var mount = (Node(workload).VolumeMounts ?? []).FirstOrDefault(m => m.MountPath.TrimEnd('/') == path.TrimEnd('/'));
            var volume = workload.Pod.Volumes?.FirstOrDefault(v => v.Name == mount?.Name);
            if (mount is null || volume?.Secret is null)
                problems.Add($"{workload}: Pipeline__Http__Auth__SigningKeysPath is {path}, where no Secret is mounted; mount the Secret {SigningKeysSecret} there (the whole Secret, a directory of keys).");
            else if (!string.IsNullOrEmpty(mount.SubPath))
                problems.Add($"{workload}: the signing keys are mounted with subPath, which Kubernetes never updates, so a rotated key would need a restart; mount the whole Secret.");
            else if (volume.Secret.SecretName != SigningKeysSecret)
                problems.Add($"{workload}: the signing keys come from Secret {volume.Secret.SecretName}, which docs/deploy.md does not make; it makes {SigningKeysSecret}.");
        }

        if (!bool.TryParse(Setting(config, HttpAuthOptions.Section, "ProtectMetrics"), out var protect) || !protect) return;
        var annotations = workload.Template.Metadata?.Annotations ?? new Dictionary<string, string>();
        if (annotations.TryGetValue("prometheus.io/scrape", out var scrape) && scrape == "true")
            problems.Add($"{workload}: Pipeline__Http__Auth__ProtectMetrics is true, but its prometheus.io/scrape annotation asks for scraping without a token.");
        foreach (var monitor in typed.OfType<PodMonitor>().Where(m => Selects(m.Spec.Selector, workload.PodLabels)))
        {
            if (monitor.Spec.PodMetricsEndpoints.Any(endpoint => endpoint.Authorization?.Credentials is null))
                problems.Add($"PodMonitor {monitor.Metadata.Name} scrapes {workload} without a token (authorization.credentials), but Pipeline__Http__Auth__ProtectMetrics is true there.");
        }
    }

    /// <summary>A Go duration as cert-manager writes them (<c>2160h</c>, <c>1h30m</c>), or null.</summary>
    private static TimeSpan? GoDuration(string text)
    {
        var match = Regex.Match(text, @"^(?:(?<h>[0-9]+)h)?(?:(?<m>[0-9]+)m)?(?:(?<s>[0-9]+)s)?$");
        if (!match.Success || text.Length == 0) return null;
        double Part(string group) => match.Groups[group].Success ? double.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
        return TimeSpan.FromHours(Part("h")) + TimeSpan.FromMinutes(Part("m")) + TimeSpan.FromSeconds(Part("s"));
    }

    /// <summary>
    /// What a path on one of the container's volumes holds in the pod, made under a folder of the test so that the node
    /// can read it: a directory for a volume's own mount path; in the Secret of a cert-manager Certificate, what
    /// cert-manager writes there (a certificate with the Certificate's usages, its key, and its Issuer's CA, one CA per
    /// Issuer); any other Secret file, a line of text; anything else, a directory.
    /// </summary>
    private sealed class MountedFileStandIns(Workload workload, List<object> typed, string root)
    {
        private static readonly Dictionary<string, TestCertificateAuthority> Authorities = [];
        private static readonly Dictionary<string, (string Certificate, string Key)> IssuedPairs = [];

        /// <summary>The certificate and key cert-manager would issue for <paramref name="certificate"/> (made once per spec: the rules run often).</summary>
        private static (string Certificate, string Key) Issued(TestCertificateAuthority authority, CertManagerCertificate certificate)
        {
            var usages = (certificate.Spec.Usages ?? []).Select(usage => usage switch
            {
                "server auth" => new Oid("1.3.6.1.5.5.7.3.1"),
                "client auth" => new Oid("1.3.6.1.5.5.7.3.2"),
                _ => null,
            }).OfType<Oid>().ToArray();
            var cacheKey = $"{authority.Certificate.Thumbprint}/{certificate.Spec.CommonName ?? certificate.Metadata.Name}/{string.Join(",", usages.Select(usage => usage.Value))}";
            lock (IssuedPairs)
            {
                if (IssuedPairs.TryGetValue(cacheKey, out var pair)) return pair;
                using var issued = authority.Issue(certificate.Spec.CommonName ?? certificate.Metadata.Name, usages: usages.Length > 0 ? usages : null);
                using var privateKey = issued.GetECDsaPrivateKey()!;
                return IssuedPairs[cacheKey] = (issued.ExportCertificatePem(), privateKey.ExportPkcs8PrivateKeyPem());
            }
        }

        public string? For(string? value)
        {
            if (value is null || !value.StartsWith('/')) return value;
            var mount = (Node(workload).VolumeMounts ?? []).FirstOrDefault(m => IsUnder(value, m.MountPath));
            if (mount is null) return value;
            var standIn = root + value;
            var secret = workload.Pod.Volumes?.FirstOrDefault(v => v.Name == mount.Name)?.Secret;
            if (secret is null || value.TrimEnd('/') == mount.MountPath.TrimEnd('/'))
            {
                Directory.CreateDirectory(standIn);
                return standIn;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(standIn)!);
            var certificate = typed.OfType<CertManagerCertificate>().FirstOrDefault(c => c.Spec.SecretName == secret.SecretName && c.Metadata.NamespaceProperty == workload.Namespace);
            if (certificate is null || !WriteCertificateFile(certificate, Path.GetFileName(value), standIn))
                File.WriteAllText(standIn, "stands in for a file from a Secret");
            return standIn;
        }

        /// <summary>Writes the file cert-manager keeps as <paramref name="key"/> in the Certificate's Secret; false for a key it does not write.</summary>
        private static bool WriteCertificateFile(CertManagerCertificate certificate, string key, string path)
        {
            if (key is not ("tls.crt" or "tls.key" or "ca.crt")) return false;
            TestCertificateAuthority authority;
            lock (Authorities)
            {
                var issuer = $"{certificate.Metadata.NamespaceProperty}/{certificate.Spec.IssuerRef.Name}";
                if (!Authorities.TryGetValue(issuer, out authority!)) Authorities[issuer] = authority = TestCertificateAuthority.Create(issuer);
            }
            if (key == "ca.crt")
            {
                File.WriteAllText(path, authority.Certificate.ExportCertificatePem());
                return true;
            }
            var directory = Path.GetDirectoryName(path)!;
            var (certificatePem, keyPem) = Issued(authority, certificate);
            File.WriteAllText(Path.Combine(directory, "tls.crt"), certificatePem);
            File.WriteAllText(Path.Combine(directory, "tls.key"), keyPem);
            return true;
        }
    }
}
