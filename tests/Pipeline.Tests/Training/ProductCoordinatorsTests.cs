using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Model;
using Pipeline.Shared.Products;
using Pipeline.Shared.Training;
using Pipeline.Tests.Support;
using Pipeline.Training;
using Pipeline.Training.Kafka;
using Pipeline.Training.Registry;
using Xunit;
using static Pipeline.Tests.Training.TrainingSamples;

namespace Pipeline.Tests.Training;

/// <summary>
/// The training singleton with several products: one coordinator per product, each with its real registry folder and
/// sample store on disk. A stand-in refit records what it was given; a test probe plays the pub-sub mediator.
/// </summary>
public sealed class ProductCoordinatorsTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private const string BracketA = "bracket-a";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly TempFolder folder = new();
    private readonly RecordingEvents events = new();

    private string RegistryRoot => Path.Combine(folder.Path, "registry");

    private string SamplesRoot => Path.Combine(folder.Path, "samples");

    private ContinuousTrainingOptions Options()
    {
        var model = Path.Combine(folder.Path, "trained.dnfm");
        if (!File.Exists(model)) Artifact("trained", seed: 1).Save(model);
        return new ContinuousTrainingOptions
        {
            RegistryPath = RegistryRoot,
            SampleStorePath = SamplesRoot,
            InitialModelPath = model,
            RefitEveryNewSamples = 0,
            RefitIntervalMinutes = 0,
            RegistryPollSeconds = 0.2,
            GoodSamplesPerCamera = 50,
        };
    }

    private static ModelArtifact Artifact(string version, int seed) => TinyArtifacts.Create(version, new string('a', 64), seed, TinyArtifacts.Flow());

    private static ProductCatalog Configured(params string[] products) =>
        ProductCatalog.From(products.ToDictionary(product => product, product => new ProductOptions { Cameras = [$"camera-{product}"] }));

    private IActorRef Start(ProductCatalog catalog, IActorRef mediator, Func<RefitJob, CancellationToken, RefitResult>? refit = null, Func<Action<LabelFeedback>, IDisposable>? labels = null) =>
        Sys.ActorOf(ProductCoordinators.Props(Options(), catalog, refit ?? NeverRefit, events, mediator, labels));

    private static RefitResult NeverRefit(RefitJob job, CancellationToken cancellation) => throw new InvalidOperationException("no refit expected");

    private static IReadOnlyList<ModelAnnouncement> Announcements(Akka.TestKit.TestProbe mediator, int count) =>
        Enumerable.Range(0, count)
            .Select(_ => mediator.FishForMessage<Publish>(p => p.Topic == TrainingTopics.ModelVersions, Patience).Message)
            .Cast<ModelAnnouncement>()
            .OrderBy(announcement => announcement.Product, StringComparer.Ordinal)
            .ToArray();

    [Fact]
    public async Task Samples_and_refits_stay_within_their_product()
    {
        ModelRegistry.Open(RegistryRoot, BracketA).Publish(Artifact("a", seed: 3), "test", makeCurrent: true);
        var mediator = CreateTestProbe();
        RefitJob? seen = null;
        var training = Start(Configured(BracketA), mediator, (job, _) =>
        {
            seen = job;
            return new RefitResult(Artifact("refitted", seed: 4), "median good score 2 → 1");
        });
        Assert.Equal([(BracketA, "v1"), (ProductName.Default, "v1")], Announcements(mediator, 2).Select(a => (a.Product, a.Version)));

        training.Tell(new CollectSamples([
            .. Enumerable.Range(0, 3).Select(i => Sample($"default-{i}")),
            .. Enumerable.Range(0, 5).Select(i => Sample($"a-{i}", "camera-bracket-a") with { Product = BracketA }),
            Sample("a-defect", "camera-bracket-a", FrameLabel.Defect) with { Product = BracketA },
        ]));
        var defaultStatus = await training.Ask<TrainingStatus>(GetTrainingStatus.Instance, Patience);
        var aStatus = await training.Ask<TrainingStatus>(new GetTrainingStatus(BracketA), Patience);
        Assert.Equal((ProductName.Default, 3, 0), (defaultStatus.Product, defaultStatus.GoodSamples, defaultStatus.DefectSamples));
        Assert.Equal((BracketA, 5, 1), (aStatus.Product, aStatus.GoodSamples, aStatus.DefectSamples));

        var finished = await training.Ask<RefitFinished>(new RequestRefit("test", BracketA), Patience);

        Assert.Equal((true, "v2", BracketA), (finished.Published, finished.Version, finished.Product));
        Assert.Equal(BracketA, seen!.Product);
        Assert.All(seen.Good.Concat(seen.Defects), sample => Assert.Equal(BracketA, sample.Product));
        Assert.Equal((5, 1), (seen.Good.Count, seen.Defects.Count));
        var announced = (ModelAnnouncement)mediator.FishForMessage<Publish>(p => p.Topic == TrainingTopics.ModelVersions, Patience).Message;
        Assert.Equal((BracketA, "v2"), (announced.Product, announced.Version));
        Assert.Equal("v1", (await training.Ask<TrainingStatus>(GetTrainingStatus.Instance, Patience)).CurrentVersion); // the default product's lineage is untouched
        Assert.Equal(["v1"], ModelRegistry.Open(RegistryRoot).List().Select(model => model.Version));
        Assert.Equal(["v1", "v2"], ModelRegistry.Open(RegistryRoot, BracketA).List().Select(model => model.Version));
        var published = Assert.Single(events.Events, e => e.Kind == ModelEventKind.Published);
        Assert.Equal((BracketA, "v2", "v1"), (published.Product, published.Version, published.PreviousVersion));
        Assert.True(File.Exists(Path.Combine(SamplesRoot, "products", BracketA, "store.json")), "the product's samples are stored in its own folder");
    }

    [Fact]
    public async Task A_label_goes_out_with_the_product_it_names_its_sample_goes_to_that_products_store_and_one_naming_an_unknown_product_is_dropped()
    {
        var mediator = CreateTestProbe();
        Action<LabelFeedback>? onLabel = null;
        var training = Start(Configured(BracketA), mediator, labels: callback =>
        {
            onLabel = callback;
            return new Nothing();
        });
        Announcements(mediator, 1); // the default product's v1: the coordinators are up
        AwaitCondition(() => onLabel is not null, Patience);

        onLabel!(new LabelFeedback { FrameId = "frame-1", Label = FrameLabel.Good, Product = BracketA });
        onLabel(new LabelFeedback { FrameId = "frame-2", Label = FrameLabel.Defect, Product = "bracket-z" });
        onLabel(new LabelFeedback { FrameId = "frame-3", Label = FrameLabel.Good });

        Assert.Equal(new FrameLabelled("frame-1", FrameLabel.Good, BracketA), Label(mediator));
        Assert.Equal(new FrameLabelled("frame-3", FrameLabel.Good, null), Label(mediator)); // frame-2's never went out

        // The scoring node that kept the frames' features sends their samples (as the product it scored them for).
        training.Tell(new CollectSamples([Sample("frame-1"), Sample("frame-3")]));
        Assert.Equal(1, (await training.Ask<TrainingStatus>(new GetTrainingStatus(BracketA), Patience)).GoodSamples);
        Assert.Equal(1, (await training.Ask<TrainingStatus>(GetTrainingStatus.Instance, Patience)).GoodSamples);

        static FrameLabelled Label(Akka.TestKit.TestProbe mediator) =>
            (FrameLabelled)mediator.FishForMessage<Publish>(p => p.Topic == TrainingTopics.FrameLabels, Patience).Message;
    }

    [Fact]
    public async Task A_new_products_first_model_imported_into_the_registry_is_announced_and_served_without_a_restart()
    {
        var mediator = CreateTestProbe();
        var training = Start(ProductCatalog.DefaultOnly, mediator);
        Announcements(mediator, 1);
        Assert.Equal([ProductName.Default], (await training.Ask<CurrentModelsAre>(GetCurrentModels.Instance, Patience)).Current.Select(a => a.Product));

        var imported = ModelRegistry.Open(RegistryRoot, "bracket-b").Publish(Artifact("b", seed: 5), "imported", makeCurrent: true); // pipeline models import --product bracket-b

        var announced = (ModelAnnouncement)mediator.FishForMessage<Publish>(p => p.Topic == TrainingTopics.ModelVersions, Patience).Message;
        Assert.Equal(("bracket-b", "v1", imported.Sha256), (announced.Product, announced.Version, announced.Sha256));
        var current = (await training.Ask<CurrentModelsAre>(GetCurrentModels.Instance, Patience)).Current;
        Assert.Equal([("bracket-b", "v1"), (ProductName.Default, "v1")], current.Select(a => (a.Product, a.Version)));
        var bytes = new List<byte>();
        while (bytes.Count < announced.SizeBytes)
        {
            var chunk = await training.Ask<ModelChunk>(new FetchModelChunk("v1", bytes.Count, 4096, "bracket-b"), Patience);
            Assert.Equal("bracket-b", chunk.Product);
            bytes.AddRange(chunk.Bytes);
        }
        Assert.Equal(imported.Sha256, ModelArtifact.FromBytes([.. bytes], "fetched").Sha256); // bracket-b's v1, not the default product's
    }

    [Fact]
    public async Task Samples_refits_and_questions_for_a_product_the_node_does_not_know_reach_no_other_product()
    {
        var mediator = CreateTestProbe();
        var training = Start(ProductCatalog.DefaultOnly, mediator);
        Announcements(mediator, 1);

        training.Tell(new CollectSamples([Sample("z-0") with { Product = "bracket-z" }, Sample("default-0")]));
        var refit = await training.Ask<RefitFinished>(new RequestRefit("test", "bracket-z"), Patience);
        var chunk = await training.Ask<ModelChunkUnavailable>(new FetchModelChunk("v1", 0, 4096, "bracket-z"), Patience);
        var status = await training.Ask<TrainingStatus>(GetTrainingStatus.Instance, Patience);

        Assert.False(refit.Published);
        Assert.Contains("no product 'bracket-z' (it has default)", refit.Summary, StringComparison.Ordinal);
        Assert.Equal(("bracket-z", "v1"), (chunk.Product, chunk.Version));
        Assert.Equal(1, status.GoodSamples); // the default product's own sample only
        await Assert.ThrowsAsync<Shared.PipelineInputException>(() => training.Ask<TrainingStatus>(new GetTrainingStatus("bracket-z"), Patience));
    }

    [Fact]
    public async Task Without_products_the_registry_and_the_sample_store_keep_their_layout()
    {
        var mediator = CreateTestProbe();
        var training = Start(ProductCatalog.DefaultOnly, mediator);
        var announced = Announcements(mediator, 1).Single();

        training.Tell(new CollectSamples([Sample("g-0")]));
        var status = await training.Ask<TrainingStatus>(GetTrainingStatus.Instance, Patience);

        Assert.Equal((ProductName.Default, "v1", 1), (announced.Product, status.CurrentVersion, status.GoodSamples));
        Assert.True(File.Exists(Path.Combine(RegistryRoot, "registry.json")));
        Assert.True(File.Exists(Path.Combine(RegistryRoot, "models", "v1.dnfm")));
        Assert.True(File.Exists(Path.Combine(SamplesRoot, "store.json")));
        Assert.False(Directory.Exists(Path.Combine(RegistryRoot, "products")));
        Assert.False(Directory.Exists(Path.Combine(SamplesRoot, "products")));
    }

    public new void Dispose()
    {
        base.Dispose();
        folder.Dispose();
    }

    private sealed class Nothing : IDisposable
    {
        public void Dispose()
        {
        }
    }

    private sealed class RecordingEvents : IModelEventSink
    {
        private readonly List<ModelEvent> events = [];

        public IReadOnlyList<ModelEvent> Events { get { lock (events) return events.ToArray(); } }

        public void Publish(ModelEvent modelEvent) { lock (events) events.Add(modelEvent); }
    }
}
