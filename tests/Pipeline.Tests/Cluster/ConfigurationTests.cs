using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipeline.Host.Hosting;
using Pipeline.Shared;
using Pipeline.Shared.Configuration;
using Xunit;

namespace Pipeline.Tests.Cluster;

/// <summary>Cluster and HTTP settings: their defaults, how they bind, and what a bad value is told.</summary>
public sealed class ConfigurationTests
{
    private static string[] ClusterFailures(Action<ClusterOptions> change)
    {
        var options = new ClusterOptions();
        change(options);
        var result = new ClusterOptionsValidator().Validate(null, options);
        return result.Failed ? result.Failures.ToArray() : [];
    }

    private static string[] HttpFailures(Action<HttpOptions> change)
    {
        var options = new HttpOptions();
        change(options);
        var result = new HttpOptionsValidator().Validate(null, options);
        return result.Failed ? result.Failures.ToArray() : [];
    }

    private static (ClusterOptions Cluster, HttpOptions Http) Bind(params (string Key, string Value)[] settings)
    {
        var builder = PipelineHost.CreateBuilder(new PipelineHostSettings
        {
            UseDefaultSources = false,
            Overrides = settings.ToDictionary(setting => setting.Key, setting => (string?)setting.Value),
        });
        using var host = builder.Build(); // builds only: no actor system, no sockets
        var cluster = host.Services.GetRequiredService<IOptions<ClusterOptions>>().Value;
        Assert.Same(cluster, host.Services.GetRequiredService<IOptionsMonitor<ClusterOptions>>().CurrentValue);
        return (cluster, host.Services.GetRequiredService<IOptions<HttpOptions>>().Value);
    }

    [Fact]
    public void The_defaults_make_a_valid_single_node_cluster_with_every_role()
    {
        var (cluster, http) = Bind();

        Assert.Equal(ClusterRoles.All, cluster.ActiveRoles);
        Assert.Equal(("127.0.0.1", 4053, "inspection"), (cluster.Hostname, cluster.Port, cluster.ActorSystemName));
        Assert.Empty(cluster.SeedNodeAddresses());
        Assert.Equal(4L * 1024 * 1024, cluster.MaximumFrameSizeBytes);
        Assert.Equal(ClusterOptions.KeepMajority, cluster.SplitBrainStrategy);
        Assert.Equal((8080, "0.0.0.0"), (http.Port, http.BindAddress));
    }

    [Fact]
    public void Configured_roles_and_seeds_replace_the_defaults()
    {
        var (cluster, _) = Bind(
            ("Pipeline:Cluster:Roles:0", "scoring"),
            ("Pipeline:Cluster:SeedNodes:0", "node-a:4053"),
            ("Pipeline:Cluster:SeedNodes:1", "akka.tcp://inspection@10.0.0.2:4060"));

        Assert.Equal([ClusterRoles.Scoring], cluster.ActiveRoles);
        Assert.Equal(["akka.tcp://inspection@node-a:4053", "akka.tcp://inspection@10.0.0.2:4060"], cluster.SeedNodeAddresses());
    }

    [Fact]
    public void A_list_given_as_one_comma_separated_value_replaces_the_whole_list()
    {
        var (cluster, _) = Bind(
            ("Pipeline:Cluster:Roles:0", "ingest"),
            ("Pipeline:Cluster:Roles:1", "scoring"),
            ("Pipeline:Cluster:Roles:2", "training"),
            ("Pipeline:Cluster:Roles", "scoring, training"), // as Pipeline__Cluster__Roles=scoring,training would
            ("Pipeline:Cluster:SeedNodes", "node-a:4053,node-b:4053"));

        Assert.Equal([ClusterRoles.Scoring, ClusterRoles.Training], cluster.ActiveRoles);
        Assert.Equal(["akka.tcp://inspection@node-a:4053", "akka.tcp://inspection@node-b:4053"], cluster.SeedNodeAddresses());
    }

    [Fact]
    public void The_smallest_frame_size_carries_one_prepared_448_pixel_frame()
    {
        Assert.Equal(448 * 448 * 3, ClusterOptions.PreparedFrameBytes);
        Assert.Empty(ClusterFailures(options => options.MaximumFrameSizeBytes = ClusterOptions.MinimumFrameSizeBytes));
        var failure = Assert.Single(ClusterFailures(options => options.MaximumFrameSizeBytes = ClusterOptions.PreparedFrameBytes));
        Assert.Contains($"Pipeline:Cluster:MaximumFrameSizeBytes is {ClusterOptions.PreparedFrameBytes}", failure);
        Assert.Contains("448×448×3", failure);
    }

    [Theory]
    [InlineData("Port", "Pipeline:Cluster:Port is 70000")]
    [InlineData("Roles", "Pipeline:Cluster:Roles contains 'scorer', which is not a role; the roles are ingest, scoring, training")]
    [InlineData("SeedNodes", "Pipeline:Cluster:SeedNodes contains 'node-a'; write a seed as host:port")]
    [InlineData("ForeignSeed", "Pipeline:Cluster:SeedNodes contains 'akka.tcp://other@node-a:4053', a node of actor system 'other'")]
    [InlineData("Wildcard", "Pipeline:Cluster:Hostname is '0.0.0.0' (every interface) but Pipeline:Cluster:PublicHostname is not set")]
    [InlineData("ActorSystemName", "Pipeline:Cluster:ActorSystemName is 'my system'")]
    [InlineData("SplitBrainStrategy", "Pipeline:Cluster:SplitBrainStrategy is 'keep-everyone'; it must be keep-majority or keep-oldest")]
    public void A_bad_cluster_setting_is_named_with_its_value(string setting, string expected)
    {
        var failure = Assert.Single(ClusterFailures(options =>
        {
            switch (setting)
            {
                case "Port": options.Port = 70000; break;
                case "Roles": options.Roles = [ClusterRoles.Ingest, "scorer"]; break;
                case "SeedNodes": options.SeedNodes = ["node-a"]; break;
                case "ForeignSeed": options.SeedNodes = ["akka.tcp://other@node-a:4053"]; break;
                case "Wildcard": options.Hostname = "0.0.0.0"; break;
                case "ActorSystemName": options.ActorSystemName = "my system"; break;
                case "SplitBrainStrategy": options.SplitBrainStrategy = "keep-everyone"; break;
            }
        }));
        Assert.Contains(expected, failure);
    }

    [Fact]
    public void A_wildcard_hostname_is_fine_with_a_public_hostname()
    {
        Assert.Empty(ClusterFailures(options => (options.Hostname, options.PublicHostname) = ("0.0.0.0", "scoring-0.pipeline")));
    }

    [Fact]
    public void Bad_http_settings_are_named_with_their_values()
    {
        Assert.Contains("Pipeline:Http:Port is -1", Assert.Single(HttpFailures(options => options.Port = -1)));
        Assert.Contains("Pipeline:Http:BindAddress is 'everywhere'", Assert.Single(HttpFailures(options => options.BindAddress = "everywhere")));
        Assert.Empty(HttpFailures(options => options.Port = 0)); // 0 turns HTTP off
    }

    [Fact]
    public void The_generated_http_validators_say_the_key_the_value_and_what_would_do()
    {
        Assert.Equal(["Pipeline:Http:Port is 70000; use 0 to 65535 (0 turns the HTTP endpoints off)."], HttpFailures(options => options.Port = 70000));
        Assert.Equal(["Pipeline:Http:BindAddress is 'everywhere'; it must be an IP address such as 0.0.0.0 (every interface) or 127.0.0.1."],
            HttpFailures(options => options.BindAddress = "everywhere"));

        var auth = new HttpAuthOptions { Issuer = " ", SigningKeysPath = "/no/such/keys", KeyReloadSeconds = double.NaN };
        var result = new HttpAuthOptionsValidator().Validate(null, auth);
        Assert.Equal(
            [
                "Pipeline:Http:Auth:SigningKeysPath is '/no/such/keys'; no such file or directory exists (give the directory of the signing keys, a mounted Secret, or one key file).",
                "Pipeline:Http:Auth:Issuer is empty; set it (tokens are checked against it; default inspection-pipeline).",
                "Pipeline:Http:Auth:KeyReloadSeconds is NaN; use 1 to 3600 (30 by default).",
            ],
            result.Failures);
        Assert.True(new HttpAuthOptionsValidator().Validate(null, new HttpAuthOptions()).Succeeded);
    }

    [Fact]
    public void Building_a_node_with_bad_settings_fails_before_anything_starts_with_every_problem_named()
    {
        var error = Assert.Throws<PipelineInputException>(() => Bind(("Pipeline:Cluster:Port", "70000"), ("Pipeline:Cluster:Roles:0", "scorer")));

        Assert.Contains("Pipeline:Cluster:Port is 70000", error.Message);
        Assert.Contains("'scorer'", error.Message);
    }

    [Fact]
    public void A_misspelt_or_unreadable_setting_is_named()
    {
        var misspelt = Assert.Throws<PipelineInputException>(() => Bind(("Pipeline:Cluster:Prot", "4054")));
        Assert.Contains("Pipeline:Cluster:Prot is not a setting", misspelt.Message);
        Assert.Contains("Port", misspelt.Message);

        var unreadable = Assert.Throws<PipelineInputException>(() => Bind(("Pipeline:Http:Port", "eighty")));
        Assert.Contains("Pipeline:Http:Port", unreadable.Message);
        Assert.Contains("eighty", unreadable.Message);
    }

    [Fact]
    public void Nodes_find_each_other_by_seed_nodes_unless_told_to_use_kubernetes()
    {
        var (defaults, _) = Bind();
        Assert.Equal(ClusterOptions.SeedNodesDiscovery, defaults.Discovery);

        var (kubernetes, _) = Bind(
            ("Pipeline:Cluster:Discovery", "kubernetes"),
            ("Pipeline:Cluster:Hostname", "0.0.0.0"),
            ("Pipeline:Cluster:PublicHostname", "10.1.2.3"),
            ("Pipeline:Cluster:ManagementPort", "8600"),
            ("Pipeline:Cluster:KubernetesPodLabelSelector", "app.kubernetes.io/part-of=line-7"),
            ("Pipeline:Cluster:RequiredContactPoints", "3"));

        Assert.Equal(ClusterOptions.KubernetesDiscovery, kubernetes.Discovery);
        Assert.Equal((8600, "app.kubernetes.io/part-of=line-7", 3), (kubernetes.ManagementPort, kubernetes.KubernetesPodLabelSelector, kubernetes.RequiredContactPoints));
        Assert.Empty(kubernetes.SeedNodeAddresses());
    }

    [Fact]
    public void The_kubernetes_settings_default_to_the_values_docs_operations_md_gives()
    {
        var options = new ClusterOptions();
        Assert.Equal((8558, "management", 2), (options.ManagementPort, ClusterOptions.ManagementPortName, options.RequiredContactPoints));
        Assert.Equal("app.kubernetes.io/part-of=inspection-pipeline", options.KubernetesPodLabelSelector);
    }

    [Theory]
    [InlineData("Discovery", "Pipeline:Cluster:Discovery is 'dns'; it must be seed-nodes or kubernetes")]
    [InlineData("SeedsWithKubernetes", "Pipeline:Cluster:SeedNodes is set but Pipeline:Cluster:Discovery is kubernetes")]
    [InlineData("ManagementPort", "Pipeline:Cluster:ManagementPort is 0; it must be between 1 and 65535")]
    [InlineData("ManagementPortIsRemoting", "Pipeline:Cluster:ManagementPort is 4053, the same as Pipeline:Cluster:Port")]
    [InlineData("LabelSelector", "Pipeline:Cluster:KubernetesPodLabelSelector is empty")]
    [InlineData("ContactPoints", "Pipeline:Cluster:RequiredContactPoints is 0; it must be at least 1")]
    [InlineData("Loopback", "Pipeline:Cluster:Discovery is kubernetes but other pods would reach this node at '127.0.0.1'")]
    public void A_bad_discovery_setting_is_named_with_its_value(string setting, string expected)
    {
        var failure = Assert.Single(ClusterFailures(options =>
        {
            (options.Discovery, options.Hostname, options.PublicHostname) = (ClusterOptions.KubernetesDiscovery, "0.0.0.0", "10.1.2.3");
            switch (setting)
            {
                case "Discovery": options.Discovery = "dns"; break;
                case "SeedsWithKubernetes": options.SeedNodes = ["node-a:4053"]; break;
                case "ManagementPort": options.ManagementPort = 0; break;
                case "ManagementPortIsRemoting": options.ManagementPort = options.Port; break;
                case "LabelSelector": options.KubernetesPodLabelSelector = " "; break;
                case "ContactPoints": options.RequiredContactPoints = 0; break;
                case "Loopback": (options.Hostname, options.PublicHostname) = ("127.0.0.1", null); break;
            }
        }));
        Assert.Contains(expected, failure);
    }

    [Fact]
    public void Kubernetes_settings_are_not_checked_when_discovery_is_by_seed_nodes()
    {
        Assert.Empty(ClusterFailures(options => (options.ManagementPort, options.RequiredContactPoints) = (0, 0)));
    }

    [Fact]
    public void A_role_hook_for_an_unknown_role_is_refused()
    {
        var builder = PipelineHost.CreateBuilder(new PipelineHostSettings { UseDefaultSources = false });
        Assert.Throws<ArgumentException>(() => builder.WithRoleActors("scorer", (_, _, _) => { }));
    }
}
