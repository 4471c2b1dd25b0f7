using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.DependencyInjection;
using Akka.Hosting;
using Akka.Management.Cluster.Bootstrap;
using Akka.Remote.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Pipeline.Host.Security;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Scoring;
using Pipeline.Shared.Training;
using AkkaClusterOptions = Akka.Cluster.Hosting.ClusterOptions;
using AkkaLogLevel = Akka.Event.LogLevel;
using ClusterOptions = Pipeline.Shared.Configuration.ClusterOptions;

namespace Pipeline.Host.Hosting;

/// <summary>
/// Builds a cluster node: the .NET generic host with one Akka.NET actor system (remoting, clustering with roles
/// and seed nodes or Kubernetes discovery, split-brain resolver, logging through Microsoft.Extensions.Logging, coordinated shutdown with
/// a graceful cluster leave when the host stops), and the HTTP endpoints <c>/healthz</c>, <c>/readyz</c> and
/// <c>/metrics</c>. The scoring messages that cross nodes use <see cref="ScoringMessageSerializer"/>.
/// </summary>
/// <remarks>
/// Roles plug in here without knowing about each other. <see cref="WithRoleActors"/> starts actors only on nodes
/// with that role; <see cref="AddReadinessCheck(string, string, Func{IServiceProvider, IAkkaHealthCheck})"/> and
/// <see cref="AddLivenessCheck"/> add a health check only there (ASP.NET Core health checks registered through
/// Akka.Hosting, see <see cref="NodeHealth"/>). Ingest nodes always get the router to the scoring actors
/// (<see cref="Pipeline.Shared.Cluster.ScoringEndpoint"/>).
/// </remarks>
public sealed class PipelineHostBuilder
{
    private readonly HostApplicationBuilder builder;
    private readonly List<(string Role, Action<ActorSystem, IActorRegistry, IDependencyResolver> Start)> roleActors = [];
    private readonly List<(string? Role, string Name, string Tag, Func<IServiceProvider, IAkkaHealthCheck> Create)> healthChecks = [];
    private readonly List<Action<AkkaConfigurationBuilder, IServiceProvider>> akkaConfigurations = [];
    private readonly List<(string Role, Action<IServiceCollection> Register)> roleServices = [];

    /// <summary>Roles start in this order, so that what does the work is up before what hands it on: scoring, training, ingest.</summary>
    private static readonly string[] StartOrder = [ClusterRoles.Scoring, ClusterRoles.Training, ClusterRoles.Ingest];

    internal PipelineHostBuilder(PipelineHostSettings settings)
    {
        if (settings.UseDefaultSources)
        {
            // appsettings.json lives next to the executable, wherever the process is started from.
            builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        }
        else
        {
            builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
            builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
            builder.Logging.AddConsole();
        }
        builder.Configuration.AddInMemoryCollection(settings.Overrides);
        // ASP.NET Core logs every failing health check as an error at each probe; /readyz and /healthz say why instead.
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None);
        // One timestamp format per console formatter (the simple one needs the space before the level); a
        // TimestampFormat under Logging:Console:FormatterOptions still wins.
        builder.Services.Configure<SimpleConsoleFormatterOptions>(options => options.TimestampFormat ??= "yyyy-MM-ddTHH:mm:ss.fffZ ");
        builder.Services.Configure<JsonConsoleFormatterOptions>(options => options.TimestampFormat ??= "yyyy-MM-ddTHH:mm:ss.fffZ");
        WithRoleActors(ClusterRoles.Ingest, (system, registry, _) => ScoringRouting.Start(system, registry));
    }

    /// <summary>All configuration sources, in order of precedence (the last wins).</summary>
    public IConfigurationManager Configuration => builder.Configuration;

    /// <summary>The host's services; actors reach them through the <see cref="IDependencyResolver"/>.</summary>
    public IServiceCollection Services => builder.Services;

    public ILoggingBuilder Logging => builder.Logging;

    /// <summary>
    /// Starts actors on nodes that have <paramref name="role"/> (one of <see cref="ClusterRoles.All"/>), after the
    /// actor system is up; register what other actors need in the <see cref="IActorRegistry"/>.
    /// </summary>
    public PipelineHostBuilder WithRoleActors(string role, Action<ActorSystem, IActorRegistry, IDependencyResolver> start)
    {
        RequireRole(role);
        roleActors.Add((role, start));
        return this;
    }

    /// <summary>
    /// Registers what the actors of <paramref name="role"/> need (their validated options, say) when the node has that
    /// role; runs in <see cref="Build"/>, so a bad setting stops the node before anything starts.
    /// </summary>
    public PipelineHostBuilder WithRoleServices(string role, Action<IServiceCollection> register)
    {
        RequireRole(role);
        roleServices.Add((role, register));
        return this;
    }

    /// <summary>
    /// Adds a condition every node must meet to report ready on <c>/readyz</c>. <paramref name="name"/> is short and
    /// stable (it is shown in the probe's answer, e.g. <c>model-loaded</c>); the check must answer within
    /// <see cref="NodeHealth.CheckTimeout"/> and report an expected "not yet" as unhealthy with a reason an operator
    /// can act on, not by throwing.
    /// </summary>
    public PipelineHostBuilder AddReadinessCheck(string name, Func<IServiceProvider, IAkkaHealthCheck> create)
    {
        healthChecks.Add((null, name, NodeHealth.Readiness, create));
        return this;
    }

    /// <summary>Adds a readiness condition for nodes that have <paramref name="role"/>, e.g. "model loaded" for scoring.</summary>
    public PipelineHostBuilder AddReadinessCheck(string role, string name, Func<IServiceProvider, IAkkaHealthCheck> create)
    {
        RequireRole(role);
        healthChecks.Add((role, name, NodeHealth.Readiness, create));
        return this;
    }

    /// <summary>
    /// Adds a liveness condition for nodes that have <paramref name="role"/>: when it fails, <c>/healthz</c> answers
    /// 503 and Kubernetes restarts the pod. Only for what a restart mends; it must answer within
    /// <see cref="NodeHealth.LivenessCheckTimeout"/> without asking actors that may be busy.
    /// </summary>
    public PipelineHostBuilder AddLivenessCheck(string role, string name, Func<IServiceProvider, IAkkaHealthCheck> create)
    {
        RequireRole(role);
        healthChecks.Add((role, name, NodeHealth.Liveness, create));
        return this;
    }

    /// <summary>Further Akka.Hosting configuration (serializers, extensions, HOCON that has no typed option).</summary>
    public PipelineHostBuilder ConfigureAkka(Action<AkkaConfigurationBuilder, IServiceProvider> configure)
    {
        akkaConfigurations.Add(configure);
        return this;
    }

    /// <summary>
    /// Reads and validates the configuration, then builds the host. Nothing starts until the host is run.
    /// </summary>
    /// <exception cref="Pipeline.Shared.PipelineInputException">The configuration is invalid; the message names the key and the value.</exception>
    public IHost Build()
    {
        // Read here rather than on first use: the actor system's name is needed to register Akka, and a bad
        // setting then stops the node before anything starts.
        var tls = ValidatedOptions.Load(Configuration, ClusterTlsOptions.Section, new ClusterTlsOptionsValidator());
        var cluster = ValidatedOptions.Load(Configuration, ClusterOptions.Section, new ClusterOptionsValidator(tls.Enabled), nested: [ClusterTlsOptions.Section]);
        var http = ValidatedOptions.Load(Configuration, HttpOptions.Section, new HttpOptionsValidator(), nested: [HttpAuthOptions.Section]);
        var auth = ValidatedOptions.Load(Configuration, HttpAuthOptions.Section, new HttpAuthOptionsValidator());
        ValidatedOptions.Register(Services, cluster);
        ValidatedOptions.Register(Services, tls);
        ValidatedOptions.Register(Services, http);
        ValidatedOptions.Register(Services, auth);
        // Which product a frame is (Pipeline:Products): one catalog per node, for every role to take from DI.
        Services.AddSingleton(ProductsConfiguration.Load(Configuration));
        // The certificate files are read now, so that a wrong one stops the node before it listens.
        if (tls.Enabled) Services.AddSingleton(ClusterCertificates.Load(tls));
        // So are the signing keys of the HTTP endpoints' tokens (SigningKeyRing reads them again later, for rotation).
        SigningKeys.Read(auth.SigningKeysPath);
        Services.AddSingleton(provider => new SigningKeyRing(auth, TimeProvider.System, provider.GetRequiredService<ILogger<SigningKeyRing>>()));

        var roles = cluster.ActiveRoles;
        foreach (var (_, register) in roleServices.Where(services => roles.Contains(services.Role)))
            register(Services);
        // The checks themselves are registered with the actor system (ConfigureActorSystem), which Akka.Hosting adds here.
        Services.AddHealthChecks();
        Services.AddSingleton<PipelineMetrics>();

        Services.AddAkka(cluster.ActorSystemName, (akka, provider) => ConfigureActorSystem(akka, provider, roles));
        // Registered after Akka: hosted services start in order and stop in reverse, so the endpoints come up once
        // the actor system exists and close before the node leaves the cluster.
        if (cluster.Discovery == ClusterOptions.KubernetesDiscovery) Services.AddHostedService<KubernetesBootstrap>();
        Services.AddHostedService<HttpEndpoints>();
        return builder.Build();
    }

    private void ConfigureActorSystem(AkkaConfigurationBuilder akka, IServiceProvider provider, IReadOnlyList<string> roles)
    {
        var cluster = provider.GetRequiredService<IOptions<ClusterOptions>>().Value;
        var log = provider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(PipelineHost));
        var certificates = provider.GetService<ClusterCertificates>();
        var seeds = cluster.SeedNodeAddresses(tls: certificates is not null);
        var onKubernetes = cluster.Discovery == ClusterOptions.KubernetesDiscovery;

        // Akka's own console logger, used while the system starts and stops, says only what matters.
        akka.AddHocon("akka.stdout-loglevel = WARNING", HoconAddMode.Prepend)
            .ConfigureLoggers(loggers =>
            {
                loggers.LogLevel = AkkaLogLevel.InfoLevel;
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            })
            .WithRemoting(Remoting(cluster, certificates, provider.GetRequiredService<ILoggerFactory>()))
            // Frames and their answers cross nodes in the scoring protocol's compact binary form, not Akka's JSON.
            .WithCustomSerializer("pipeline-scoring", ScoringMessageSerializer.MessageTypes, system => new ScoringMessageSerializer(system))
            .WithCustomSerializer("pipeline-training", TrainingMessageSerializer.MessageTypes, system => new TrainingMessageSerializer(system))
            .WithClustering(new AkkaClusterOptions
            {
                Roles = [.. roles],
                SeedNodes = seeds.Count == 0 ? null : [.. seeds],
                SplitBrainResolver = cluster.SplitBrainStrategy == ClusterOptions.KeepOldest
                    ? new KeepOldestOption { DownIfAlone = true }
                    : new KeepMajorityOption(),
            })
            .AddStartup((system, _) =>
            {
                var self = Akka.Cluster.Cluster.Get(system);
                log.LogInformation("Node {Address} starting with roles {Roles}; joining {Seeds}", self.SelfAddress, string.Join(",", roles),
                    onKubernetes ? $"the pods labelled {cluster.KubernetesPodLabelSelector} (Kubernetes discovery)"
                    : seeds.Count == 0 ? "itself" : string.Join(",", seeds));
                if (certificates is not null)
                    log.LogInformation("Remoting uses mutual TLS: this node presents {Certificate} and accepts peers whose certificates chain to {Authorities}",
                        ClusterCertificates.Describe(certificates.Node), string.Join(", ", certificates.Authorities.Select(authority => $"'{authority.Subject}'")));
                else
                    log.LogInformation("Remoting runs without TLS ({Key}:Enabled is false): any process that reaches port {Port} can join this cluster", ClusterTlsOptions.Section, cluster.Port);
                self.RegisterOnMemberUp(() => log.LogInformation("Node {Address} is Up in cluster {System}", self.SelfAddress, system.Name));
                // No seeds configured: this node is a cluster of its own (its port may only be known now).
                if (!onKubernetes && seeds.Count == 0) self.Join(self.SelfAddress);
            });
        if (onKubernetes) AddKubernetesBootstrap(akka, cluster);

        // /healthz: the actor system runs (Akka.Hosting's check), and the roles' liveness checks; /readyz: this node is Up,
        // and the roles' readiness checks.
        akka.WithActorSystemLivenessCheck()
            .WithHealthCheck(ClusterMembershipCheck.Name, new ClusterMembershipCheck(), tags: [NodeHealth.Readiness], timeout: NodeHealth.CheckTimeout);
        foreach (var (_, name, tag, create) in healthChecks.Where(check => check.Role is null || roles.Contains(check.Role)))
            akka.WithHealthCheck(name, create(provider), tags: [tag], timeout: tag == NodeHealth.Liveness ? NodeHealth.LivenessCheckTimeout : NodeHealth.CheckTimeout);

        // Extensions and cluster tools (pub-sub, singletons and their proxies) first: role actors look them up at start.
        foreach (var configure in akkaConfigurations)
            configure(akka, provider);
        foreach (var (_, start) in roleActors.Where(actors => roles.Contains(actors.Role)).OrderBy(actors => Array.IndexOf(StartOrder, actors.Role)))
            akka.WithActors(start);
    }

    /// <summary>
    /// Akka.Remote's DotNetty transport: where it listens, how large a message may be, and, with <paramref name="certificates"/>,
    /// TLS in which both ends present a certificate and each checks the other's against the cluster's CA
    /// (<see cref="ClusterCertificates.PeerValidator"/>).
    /// </summary>
    private static RemoteOptions Remoting(ClusterOptions cluster, ClusterCertificates? certificates, ILoggerFactory loggers)
    {
        var remote = new RemoteOptions
        {
            HostName = cluster.Hostname,
            Port = cluster.Port,
            PublicHostName = string.IsNullOrWhiteSpace(cluster.PublicHostname) ? null : cluster.PublicHostname,
            MaxFrameSize = cluster.MaximumFrameSizeBytes,
            // Akka.Remote's guidance: the socket buffers must hold a message of the maximum size.
            SendBufferSize = cluster.MaximumFrameSizeBytes,
            ReceiveBufferSize = cluster.MaximumFrameSizeBytes,
        };
        if (certificates is null) return remote;
        remote.EnableSsl = true;
        remote.Ssl = new SslOptions
        {
            X509Certificate = certificates.Node,
            RequireMutualAuthentication = true,
            SuppressValidation = false,
            // Pods dial each other by IP; the CA vouches for the peer, not a host name (ClusterCertificates).
            ValidateCertificateHostname = false,
            CustomValidator = certificates.PeerValidator(loggers.CreateLogger<ClusterCertificates>()),
        };
        return remote;
    }

    /// <summary>
    /// Cluster formation on Kubernetes with Akka.Management's cluster bootstrap: it asks the Kubernetes API (through
    /// <see cref="KubernetesPodDiscovery"/>) for this cluster's pods, probes their <c>/bootstrap/seed-nodes</c> on the management
    /// port, and joins the cluster they report, or, when none exists and enough pods are seen, the pod with the lowest
    /// address forms it. <see cref="KubernetesBootstrap"/> serves this node's route and starts the bootstrap.
    /// </summary>
    private static void AddKubernetesBootstrap(AkkaConfigurationBuilder akka, ClusterOptions cluster)
    {
        akka.WithClusterBootstrap(bootstrap =>
            {
                bootstrap.ContactPointDiscovery.ServiceName = cluster.ActorSystemName;
                bootstrap.ContactPointDiscovery.PortName = ClusterOptions.ManagementPortName;
                bootstrap.ContactPointDiscovery.RequiredContactPointsNr = cluster.RequiredContactPoints;
            }, autoStart: false)
            .AddHocon(KubernetesPodDiscovery.Hocon(cluster.KubernetesPodLabelSelector), HoconAddMode.Prepend);
    }

    private static void RequireRole(string role)
    {
        if (!ClusterRoles.All.Contains(role, StringComparer.Ordinal))
            throw new ArgumentException($"'{role}' is not a cluster role; use one of ClusterRoles ({string.Join(", ", ClusterRoles.All)}).", nameof(role));
    }
}
