using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Products;
using Pipeline.Shared.Training;
using Pipeline.Training.Kafka;
using Pipeline.Training.Registry;

namespace Pipeline.Training;

/// <summary>
/// The training singleton (a cluster singleton on the training role): one <see cref="TrainingCoordinator"/> child per
/// product, each with its own registry, sample store, refit triggers, validation gate and model events, and a router
/// in front of them. The products are those configured (<see cref="ProductCatalog.Known"/>, the default one always)
/// and those with a registry folder (<see cref="ModelRegistry.ProductsIn"/>); the registry root is read again every
/// <see cref="ContinuousTrainingOptions.RegistryPoll"/>, so a new product's v1 imported with
/// <c>pipeline models import --product &lt;name&gt;</c> gets its coordinator, which announces it to every scoring node,
/// without a restart.
/// <para>
/// Routing: <see cref="CollectSamples"/> is split by <see cref="FeatureSample.Product"/>; <see cref="RequestRefit"/>,
/// <see cref="GetTrainingStatus"/>, <see cref="FetchModelChunk"/> and <see cref="ModelAdoptionReport"/> go to their
/// product's coordinator (which answers the sender); <see cref="GetCurrentModel"/> to the default product's;
/// <see cref="GetCurrentModels"/> is gathered from all. Samples, refits and questions about a product it does not know
/// are answered or logged, never sent to another product. Labels from the labels topic are read here, once, and
/// published to the scoring nodes with the product they name.
/// </para>
/// Threading: the registry root is read on a pool thread; until it has been read once, everything waits in the stash.
/// Supervision: a coordinator that fails is restarted (the default); one that stops (its store cannot be opened) is
/// logged and not started again until the singleton restarts, and its product is then unknown here.
/// </summary>
public sealed class ProductCoordinators : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private const string ProductsPollTimer = "products-poll";

    /// <summary>Frames whose label named a product, remembered until their sample comes (the oldest forgotten first).</summary>
    private const int LabelledFramesKept = 10_000;

    /// <summary>How long <see cref="GetCurrentModels"/> waits for each coordinator (one importing its initial model answers after the import).</summary>
    private static readonly TimeSpan GatherPatience = TimeSpan.FromSeconds(30);

    private readonly ContinuousTrainingOptions options;
    private readonly ProductCatalog catalog;
    private readonly Func<RefitJob, CancellationToken, RefitResult> refit;
    private readonly IModelEventSink events;
    private readonly IActorRef mediator;
    private readonly Func<Action<LabelFeedback>, IDisposable>? startLabels;
    private readonly ILoggingAdapter log = Context.GetLogger();
    private readonly SortedDictionary<string, IActorRef> coordinators = new(StringComparer.Ordinal);
    private readonly HashSet<string> stopped = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> productOfLabelledFrame = new(StringComparer.Ordinal);
    private readonly Queue<string> labelledFrames = new();
    private IDisposable? labels;

    public ProductCoordinators(
        ContinuousTrainingOptions options,
        ProductCatalog catalog,
        Func<RefitJob, CancellationToken, RefitResult> refit,
        IModelEventSink events,
        IActorRef mediator,
        Func<Action<LabelFeedback>, IDisposable>? startLabels)
    {
        this.options = options;
        this.catalog = catalog;
        this.refit = refit;
        this.events = events;
        this.mediator = mediator;
        this.startLabels = startLabels;

        Starting();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    /// <param name="options">Validated training options (the registry and sample store roots, triggers).</param>
    /// <param name="catalog">The configured products (<see cref="ProductCatalog.DefaultOnly"/> when none is).</param>
    /// <param name="refit">Runs one refit of one product (on a pool thread); the product's is <c>FlowRefit</c>.</param>
    /// <param name="events">Where model events go (the model-events topic).</param>
    /// <param name="mediator">The distributed pub-sub mediator.</param>
    /// <param name="startLabels">Starts reading the labels topic, calling back per label; null to not read labels.</param>
    public static Props Props(
        ContinuousTrainingOptions options,
        ProductCatalog catalog,
        Func<RefitJob, CancellationToken, RefitResult> refit,
        IModelEventSink events,
        IActorRef mediator,
        Func<Action<LabelFeedback>, IDisposable>? startLabels = null) =>
        Akka.Actor.Props.Create(() => new ProductCoordinators(options, catalog, refit, events, mediator, startLabels));

    protected override void PreStart()
    {
        foreach (var product in catalog.Known) Ensure(product);
        ReadProducts();
        Timers.StartPeriodicTimer(ProductsPollTimer, PollProducts.Instance, options.RegistryPoll);
        var self = Self;
        labels = startLabels?.Invoke(label => self.Tell(label));
    }

    protected override void PostStop() => labels?.Dispose();

    /// <summary>Until the registry root has been read once (so that a product with only a registry folder is known): everything waits in the stash.</summary>
    private void Starting()
    {
        Receive<ProductsRead>(read =>
        {
            Found(read);
            Become(Routing);
            Stash.UnstashAll();
        });
        Receive<Terminated>(Stopped);
        ReceiveAny(_ => Stash.Stash());
    }

    private void Routing()
    {
        Receive<CollectSamples>(Collect);
        Receive<RequestRefit>(request => Route(request.Product, request,
            () => Sender.Tell(new RefitFinished(false, null, Unknown(request.Product), request.Product))));
        Receive<GetTrainingStatus>(question => Route(question.Product, question,
            () => Sender.Tell(new Status.Failure(new Shared.PipelineInputException(Unknown(question.Product))))));
        Receive<FetchModelChunk>(request => Route(request.Product, request,
            () => Sender.Tell(new ModelChunkUnavailable(request.Version, Unknown(request.Product), request.Product))));
        Receive<ModelAdoptionReport>(report => Route(report.Product, report,
            () => log.Warning("Node {0} reported on {1} of product {2}, which the training node does not know", report.Node, report.Version, report.Product)));
        Receive<GetCurrentModel>(question => Route(ProductName.Default, question, () => Sender.Tell(new CurrentModelIs(null))));
        Receive<GetCurrentModels>(_ => GatherCurrentModels());
        Receive<LabelFeedback>(Labelled);
        Receive<PollProducts>(_ => ReadProducts());
        Receive<ProductsRead>(Found);
        Receive<Terminated>(Stopped);
    }

    /// <summary>
    /// Each product's samples to its own coordinator (a sample whose frame's label named a product is that product's);
    /// those of a product it does not know are dropped, with a warning.
    /// </summary>
    private void Collect(CollectSamples batch)
    {
        var labelled = batch.Samples.Select(sample =>
            productOfLabelledFrame.Remove(sample.FrameId, out var named) && named != sample.Product ? sample with { Product = named } : sample).ToArray();
        foreach (var samples in labelled.GroupBy(sample => sample.Product, StringComparer.Ordinal))
        {
            if (coordinators.TryGetValue(samples.Key, out var coordinator)) coordinator.Tell(new CollectSamples(samples.ToArray()), Sender);
            else log.Warning("{0} sample(s) dropped: {1}", samples.Count(), Unknown(samples.Key));
        }
    }

    private void Route(string product, object message, Action unknown)
    {
        if (coordinators.TryGetValue(product, out var coordinator)) coordinator.Forward(message);
        else unknown();
    }

    /// <summary>Asks every coordinator for its current version (off the actor's thread) and answers with those that have one, in product name order.</summary>
    private void GatherCurrentModels()
    {
        var replyTo = Sender;
        var answers = coordinators.Values
            .Select(coordinator => coordinator.Ask<CurrentModelIs>(GetCurrentModel.Instance, GatherPatience)
                .ContinueWith(answer => answer.IsCompletedSuccessfully ? answer.Result.Current : null, TaskScheduler.Default))
            .ToArray();
        Task.WhenAll(answers)
            .ContinueWith(all => new CurrentModelsAre(all.Result.OfType<ModelAnnouncement>().OrderBy(current => current.Product, StringComparer.Ordinal).ToArray()), TaskScheduler.Default)
            .PipeTo(replyTo);
    }

    /// <summary>
    /// A label from the labels topic, published to every scoring node: with the product it names (that product's store
    /// gets the sample: the frame is remembered until its sample comes back), or without one (the product of the frame's
    /// features decides). A label naming a product the training node does not know is dropped.
    /// </summary>
    private void Labelled(LabelFeedback label)
    {
        if (label.Product is { } product)
        {
            if (!coordinators.ContainsKey(product))
            {
                log.Warning("The label of frame {0} is dropped: {1}", label.FrameId, Unknown(product));
                return;
            }
            if (productOfLabelledFrame.TryAdd(label.FrameId, product)) labelledFrames.Enqueue(label.FrameId);
            else productOfLabelledFrame[label.FrameId] = product;
            while (labelledFrames.Count > LabelledFramesKept) productOfLabelledFrame.Remove(labelledFrames.Dequeue());
        }
        mediator.Tell(new Publish(TrainingTopics.FrameLabels, new FrameLabelled(label.FrameId, label.Label, label.Product)));
    }

    private void ReadProducts()
    {
        var root = options.RegistryPath!;
        Task.Run(() => ModelRegistry.ProductsIn(root))
            .PipeTo(Self, success: products => new ProductsRead(products, null), failure: error => new ProductsRead([], error.GetBaseException().Message));
    }

    private void Found(ProductsRead read)
    {
        if (read.Problem is not null) log.Warning("The registry {0} could not be read for new products: {1}; trying again in {2} s", options.RegistryPath, read.Problem, options.RegistryPollSeconds);
        foreach (var product in read.Products) Ensure(product);
    }

    /// <summary>Starts <paramref name="product"/>'s coordinator unless it runs (or stopped).</summary>
    private void Ensure(string product)
    {
        if (coordinators.ContainsKey(product) || stopped.Contains(product)) return;
        var coordinator = Context.ActorOf(TrainingCoordinator.Props(options, refit, events, mediator, product), $"product-{product}");
        Context.Watch(coordinator);
        coordinators[product] = coordinator;
        if (product != ProductName.Default) log.Info("Training of product {0} started (its registry {1})", product, ModelRegistry.FolderOf(options.RegistryPath!, product));
    }

    private void Stopped(Terminated terminated)
    {
        if (coordinators.FirstOrDefault(pair => pair.Value.Equals(terminated.ActorRef)) is not { Key: { } product }) return;
        coordinators.Remove(product);
        stopped.Add(product);
        log.Error("The training of product {0} stopped; its samples, refits and models are not served until the training node restarts", product);
    }

    private string Unknown(string product) =>
        ProductName.IsValid(product)
            ? $"the training node has no product '{product}' (it has {string.Join(", ", coordinators.Keys)}); import its first model with 'pipeline models import --product {product}'"
            : $"'{product}' is not a product name";

    private sealed record ProductsRead(IReadOnlyList<string> Products, string? Problem);

    private sealed record PollProducts
    {
        public static readonly PollProducts Instance = new();
    }
}
