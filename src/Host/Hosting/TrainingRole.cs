using System.Globalization;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pipeline.Host.OperatorConsole;
using Pipeline.Host.Security;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Model;
using Pipeline.Shared.Products;
using Pipeline.Shared.Progress;
using Pipeline.Shared.Training;
using Pipeline.Training;
using Pipeline.Training.Kafka;
using Pipeline.Training.Refit;
using AkkaClusterSingletonOptions = Akka.Cluster.Hosting.ClusterSingletonOptions;

namespace Pipeline.Host.Hosting;

/// <summary>
/// The training role on a node: its validated options, the training singleton (<see cref="ProductCoordinators"/>, one
/// <see cref="TrainingCoordinator"/> per product) as a cluster singleton on the training role (with a proxy on every node that has training or scoring), distributed pub-sub, and the HTTP
/// routes <c>POST /training/refit</c> (operator) and <c>GET /training/status</c> (viewer), and those of the model
/// registry (<see cref="ModelRegistryRoutes"/>), and the operator console (<see cref="OperatorConsoleServices"/>, docs/console.md).
/// </summary>
public static class TrainingRole
{
    /// <summary>Name of the singleton's manager under <c>/user</c>.</summary>
    public const string SingletonName = "training";

    /// <summary>How long <c>POST /training/refit</c> waits for the refit to finish.</summary>
    public static readonly TimeSpan RefitPatience = TimeSpan.FromMinutes(30);

    public static PipelineHostBuilder WithTrainingRole(this PipelineHostBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.WithRoleServices(ClusterRoles.Training, services =>
        {
            ValidatedOptions.Register(services, ValidatedOptions.Load(configuration, ContinuousTrainingOptions.SectionName, new ContinuousTrainingOptionsValidator(), nested: [RefitOptions.SectionName]));
            ValidatedOptions.Register(services, ValidatedOptions.Load(configuration, RefitOptions.SectionName, new RefitOptionsValidator()));
            ValidatedOptions.Register(services, ValidatedOptions.Load(configuration, KafkaOptions.SectionName, new KafkaOptionsValidator(forConsumer: true)));
            services.AddSingleton<IHttpRoutes, TrainingRoutes>();
            services.AddSingleton<IHttpRoutes, ModelRegistryRoutes>();
            services.AddOperatorConsole(configuration);
        });

        builder.ConfigureAkka((akka, provider) =>
        {
            var roles = provider.GetRequiredService<IOptions<Pipeline.Shared.Configuration.ClusterOptions>>().Value.ActiveRoles;
            var singleton = new AkkaClusterSingletonOptions { Role = ClusterRoles.Training };
            if (roles.Contains(ClusterRoles.Training) || roles.Contains(ClusterRoles.Scoring)) akka.WithDistributedPubSub(role: null!);
            // Akka.Cluster.Tools 1.5.73's proxy logs "failed to find an associated singleton ... after 30 seconds" at its
            // first unanswered identification, milliseconds after start-up and again at shutdown, while the singleton is
            // found a second later. The scoring side's ModelFollower warns instead when the singleton really stays silent.
            akka.AddHocon("akka.cluster.singleton-proxy.log-singleton-identification-failure = off", HoconAddMode.Prepend);
            if (roles.Contains(ClusterRoles.Training))
                akka.WithSingleton<TrainingSingleton>(SingletonName, (system, _, resolver) => CoordinatorProps(system, resolver), singleton, createProxyToo: true);
            else if (roles.Contains(ClusterRoles.Scoring))
                akka.WithSingletonProxy<TrainingSingleton>(SingletonName, singleton);
        });
        return builder;
    }

    /// <summary>Registry key of the training singleton's proxy (on nodes with the training or scoring role).</summary>
    public sealed class TrainingSingleton;

    private static Props CoordinatorProps(ActorSystem system, Akka.DependencyInjection.IDependencyResolver resolver)
    {
        var catalog = ProductsOf(resolver);
        var options = resolver.GetService<IOptions<ContinuousTrainingOptions>>().Value;
        var refitOptions = resolver.GetService<IOptions<RefitOptions>>().Value;
        var kafka = resolver.GetService<IOptions<KafkaOptions>>().Value;
        var loggers = resolver.GetService<ILoggerFactory>();
        var events = new ModelEventsPublisher(kafka, loggers.CreateLogger<ModelEventsPublisher>());
        system.RegisterOnTermination(events.Dispose);
        var refitLog = loggers.CreateLogger<TrainingCoordinator>();
        return ProductCoordinators.Props(
            options,
            catalog,
            (job, cancellation) => Refit(job, refitOptions, refitLog, cancellation),
            events,
            DistributedPubSub.Get(system).Mediator,
            onLabel => new LabelsConsumer(kafka, onLabel, loggers.CreateLogger<LabelsConsumer>()));
    }

    /// <summary>One refit with <see cref="FlowRefit"/> on this node's device, its progress in the log.</summary>
    private static RefitResult Refit(RefitJob job, RefitOptions options, ILogger log, CancellationToken cancellation)
    {
        var outcome = FlowRefit.Run(job.Serving, job.Good, job.Defects, options, $"{job.Serving.Manifest.ModelVersion}-refit",
            ComputeDevice.Resolve("auto"), new LoggedProgress(log, job.Product), cancellation);
        var figures = Describe(outcome.Validation);
        TrainingMetrics.RefitFinished(outcome.IsAccepted, job.Product);
        return new RefitResult(outcome.Accepted, outcome.IsAccepted ? figures : $"{outcome.RejectionReason} ({figures})");
    }

    private static string Describe(RefitValidation v)
    {
        static string N(double? value) => value is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) : "–";
        var auroc = v.ServingAuroc is not null || v.NewAuroc is not null ? $"; AUROC {N(v.ServingAuroc)} → {N(v.NewAuroc)}" : "";
        return $"median good score {N(v.ServingGoodScore)} → {N(v.NewGoodScore)} on {v.HeldBackGood} held-back samples{auroc}; " +
               $"threshold {N(v.ServingThreshold)} → {N(v.NewThreshold)}; trained on {v.TrainingSamples} samples for {v.Epochs} epochs in {v.TrainingSeconds:0.0} s";
    }

    private sealed class LoggedProgress(ILogger log, string product) : IWorkProgressSink
    {
        public void Report(WorkProgress progress)
        {
            if (progress.Done == progress.Total || progress.Done == 0) log.LogInformation("Refit of {Product}: {Stage} {Done}/{Total} {Detail}", product, progress.Stage, progress.Done, progress.Total, progress.Detail);
        }

        public void Note(string message) => log.LogInformation("Refit of {Product}: {Message}", product, message);
    }

    /// <summary>The configured products (the ingest side registers the catalog); only the default product where none is registered.</summary>
    internal static ProductCatalog ProductsOf(IServiceProvider services) => services.GetService<ProductCatalog>() ?? ProductCatalog.DefaultOnly;

    private static ProductCatalog ProductsOf(Akka.DependencyInjection.IDependencyResolver resolver) => resolver.GetService<ProductCatalog>() ?? ProductCatalog.DefaultOnly;

    /// <summary>
    /// <c>POST /training/refit</c> (operator; waits for the refit; 200 published, 409 rejected) and
    /// <c>GET /training/status</c> (viewer), each for the product named by <c>?product=</c> (<see cref="ProductQuery"/>;
    /// without it: the default product).
    /// </summary>
    private sealed class TrainingRoutes(ActorRegistry registry, IOptions<ContinuousTrainingOptions> options, IServiceProvider services, ILogger<TrainingRoutes> log) : IHttpRoutes
    {
        public IReadOnlyList<string> Paths { get; } = ["/training/refit", "/training/status"];

        public void Map(WebApplication app)
        {
            app.MapPost("/training/refit", async (HttpContext context, CancellationToken cancellation) =>
            {
                var (product, problem) = ProductQuery.Resolve(context, options.Value.RegistryPath!, ProductsOf(services));
                if (problem is not null) return problem;
                var who = context.User.FindFirst(AccessTokens.SubjectClaim)?.Value ?? "?";
                log.LogInformation("Refit of product {Product} requested over HTTP by {Subject}", product, who);
                var training = await registry.GetAsync<TrainingSingleton>(cancellation);
                var finished = await training.Ask<RefitFinished>(new RequestRefit($"http ({who})", product!), RefitPatience, cancellation);
                return Results.Json(new { product = finished.Product, published = finished.Published, version = finished.Version, summary = finished.Summary },
                    statusCode: finished.Published ? StatusCodes.Status200OK : StatusCodes.Status409Conflict);
            }).RequireAuthorization(HttpAuthentication.Operator);
            app.MapGet("/training/status", async (HttpContext context, CancellationToken cancellation) =>
            {
                var (product, problem) = ProductQuery.Resolve(context, options.Value.RegistryPath!, ProductsOf(services));
                if (problem is not null) return problem;
                var training = await registry.GetAsync<TrainingSingleton>(cancellation);
                var status = await training.Ask<TrainingStatus>(new GetTrainingStatus(product!), TimeSpan.FromSeconds(10), cancellation);
                return Results.Json(new
                {
                    product = status.Product,
                    current_version = status.CurrentVersion,
                    good_samples = status.GoodSamples,
                    defect_samples = status.DefectSamples,
                    new_good_samples = status.NewGoodSamples,
                    refitting = status.Refitting,
                    last_refit = status.LastRefit is { } last ? new { published = last.Published, version = last.Version, summary = last.Summary } : null,
                });
            }).RequireAuthorization(HttpAuthentication.Viewer);
        }
    }
}
