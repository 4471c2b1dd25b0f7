using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Host.Hosting;
using Pipeline.Host.Security;
using Pipeline.Shared;
using Pipeline.Shared.Configuration;
using Xunit;

namespace Pipeline.Tests.Security;

/// <summary>
/// The TLS settings of a node (<c>Pipeline:Cluster:Tls</c>): off by default, and each file mistake stops the node at
/// build time with a message that names the setting and the file. Builds only: no actor system, no sockets.
/// </summary>
public sealed class ClusterTlsSettingsTests : IDisposable
{
    private readonly TempFolder folder = new();
    private readonly TestCertificateAuthority authority = TestCertificateAuthority.Create("inspection cluster CA");

    public void Dispose()
    {
        authority.Dispose();
        folder.Dispose();
    }

    private static ClusterCertificates? Build(IReadOnlyDictionary<string, string?> settings)
    {
        using var host = PipelineHost.CreateBuilder(new PipelineHostSettings { UseDefaultSources = false, Overrides = settings }).Build();
        return host.Services.GetService<ClusterCertificates>();
    }

    private static string BuildFails(IReadOnlyDictionary<string, string?> settings) =>
        Assert.Throws<PipelineInputException>(() => Build(settings)).Message;

    private Dictionary<string, string?> Node(X509Certificate2? certificate = null, string name = "node") =>
        NodeCertificateFiles.Write(Path.Combine(folder.Path, name), certificate ?? authority.Issue("node.inspection"), authority).Settings();

    [Fact]
    public void Tls_is_off_by_default_and_seeds_are_plain_tcp()
    {
        Assert.Null(Build(new Dictionary<string, string?>()));
        var cluster = new ClusterOptions { SeedNodes = ["node-a:4053"] };
        Assert.Equal(["akka.tcp://inspection@node-a:4053"], cluster.SeedNodeAddresses());
    }

    [Fact]
    public void With_tls_the_node_carries_its_certificate_and_the_CA_and_seeds_are_tls_addresses()
    {
        var certificates = Build(Node());

        Assert.NotNull(certificates);
        Assert.True(certificates.Node.HasPrivateKey);
        Assert.Equal("CN=node.inspection, O=Pipeline tests", certificates.Node.Subject);
        Assert.Equal([authority.Certificate.Thumbprint], certificates.Authorities.Select(ca => ca.Thumbprint));
        var cluster = new ClusterOptions { SeedNodes = ["node-a:4053", "akka.ssl.tcp://inspection@node-b:4053"] };
        Assert.Empty(new ClusterOptionsValidator(tls: true).Validate(null, cluster).Failures ?? []);
        Assert.Equal(["akka.ssl.tcp://inspection@node-a:4053", "akka.ssl.tcp://inspection@node-b:4053"], cluster.SeedNodeAddresses(tls: true));
    }

    [Fact]
    public void A_pkcs12_certificate_with_its_password_is_read()
    {
        var path = Path.Combine(folder.Path, "node.pfx");
        File.WriteAllBytes(path, authority.Issue("node.inspection").Export(X509ContentType.Pkcs12, "s3cret"));
        var settings = new Dictionary<string, string?>
        {
            ["Pipeline:Cluster:Tls:Enabled"] = "true",
            ["Pipeline:Cluster:Tls:CertificatePath"] = path,
            ["Pipeline:Cluster:Tls:CertificatePassword"] = "s3cret",
            ["Pipeline:Cluster:Tls:CaCertificatePath"] = authority.WriteCertificate(folder.Path),
        };

        Assert.True(Build(settings)!.Node.HasPrivateKey);
        settings["Pipeline:Cluster:Tls:CertificatePassword"] = "wrong";
        Assert.Contains($"Pipeline:Cluster:Tls:CertificatePath '{path}' cannot be read as PKCS#12 (is Pipeline:Cluster:Tls:CertificatePassword right?)", BuildFails(settings));
    }

    [Fact]
    public void Enabled_without_files_names_the_settings_to_set()
    {
        var message = BuildFails(new Dictionary<string, string?> { ["Pipeline:Cluster:Tls:Enabled"] = "true" });

        Assert.Contains("Pipeline:Cluster:Tls:CertificatePath is not set but Pipeline:Cluster:Tls:Enabled is true", message);
        Assert.Contains("Pipeline:Cluster:Tls:CaCertificatePath is not set", message);
        Assert.Contains("Pipeline:Cluster:Tls:KeyPath is not set", message);
    }

    [Fact]
    public void A_missing_file_is_named_with_its_setting()
    {
        var settings = Node();
        settings["Pipeline:Cluster:Tls:KeyPath"] = "/etc/pipeline/cluster-tls/tls.key";

        Assert.Contains("Pipeline:Cluster:Tls:KeyPath is '/etc/pipeline/cluster-tls/tls.key', which does not exist; it should be the PEM private key", BuildFails(settings));
    }

    [Fact]
    public void Files_given_while_tls_is_off_are_named()
    {
        var settings = Node();
        settings["Pipeline:Cluster:Tls:Enabled"] = "false";

        Assert.Contains("Pipeline:Cluster:Tls:CertificatePath, Pipeline:Cluster:Tls:KeyPath, Pipeline:Cluster:Tls:CaCertificatePath are set but Pipeline:Cluster:Tls:Enabled is false", BuildFails(settings));
    }

    [Fact]
    public void A_key_that_is_not_the_certificates_is_refused()
    {
        var settings = Node();
        var other = Node(authority.Issue("other.inspection"), "other");
        settings["Pipeline:Cluster:Tls:KeyPath"] = other["Pipeline:Cluster:Tls:KeyPath"];

        Assert.Contains("cannot be read as a PEM certificate and its unencrypted PEM private key", BuildFails(settings));
    }

    [Fact]
    public void A_certificate_from_another_CA_is_refused_at_start_as_peers_would_refuse_it()
    {
        using var other = TestCertificateAuthority.Create("someone else's CA");
        var settings = Node(other.Issue("node.inspection"));

        var message = BuildFails(settings);

        Assert.Contains($"Pipeline:Cluster:Tls:CertificatePath '{settings["Pipeline:Cluster:Tls:CertificatePath"]}' holds 'CN=node.inspection, O=Pipeline tests' (issued by 'CN=someone else's CA", message);
        Assert.Contains("which the CAs in Pipeline:Cluster:Tls:CaCertificatePath", message);
        Assert.Contains("Other nodes would refuse this one", message);
    }

    [Fact]
    public void An_expired_certificate_is_refused()
    {
        var settings = Node(authority.Issue("node.inspection", DateTimeOffset.UtcNow.AddDays(-3), DateTimeOffset.UtcNow.AddDays(-1)));

        Assert.Contains("NotTimeValid", BuildFails(settings));
    }

    [Fact]
    public void A_certificate_only_for_servers_is_refused_since_every_node_is_a_client_too()
    {
        var settings = Node(authority.Issue("node.inspection", usages: [new Oid("1.3.6.1.5.5.7.3.1")]));

        Assert.Contains("NotValidForUsage", BuildFails(settings));
    }

    [Fact]
    public void A_node_certificate_in_place_of_the_CA_is_named()
    {
        var settings = Node();
        settings["Pipeline:Cluster:Tls:CaCertificatePath"] = settings["Pipeline:Cluster:Tls:CertificatePath"];

        Assert.Contains("which is not a CA certificate (its basic constraints do not let it issue certificates)", BuildFails(settings));
    }

    [Fact]
    public void A_plain_tcp_seed_address_with_tls_on_is_named()
    {
        var settings = Node();
        settings["Pipeline:Cluster:SeedNodes:0"] = "akka.tcp://inspection@node-a:4053";

        Assert.Contains("Pipeline:Cluster:SeedNodes contains 'akka.tcp://inspection@node-a:4053', a plain-TCP address, but Pipeline:Cluster:Tls:Enabled is true", BuildFails(settings));
    }

    [Fact]
    public void A_peer_is_checked_against_the_configured_CA_only()
    {
        var certificates = Build(Node())!;
        using var other = TestCertificateAuthority.Create("someone else's CA");

        Assert.Null(certificates.Verify(authority.Issue("peer.inspection"), presented: null));
        Assert.Contains("PartialChain", certificates.Verify(other.Issue("peer.inspection"), presented: null) ?? "accepted");
        // Not the system's store either: a CA this machine trusts is not one of ours.
        using var store = new X509Store(StoreName.Root, StoreLocation.LocalMachine);
        store.Open(OpenFlags.ReadOnly);
        var systemRoot = Assert.IsType<X509Certificate2>(store.Certificates.FirstOrDefault(), exactMatch: false);
        Assert.NotNull(certificates.Verify(systemRoot, presented: null));
    }
}
