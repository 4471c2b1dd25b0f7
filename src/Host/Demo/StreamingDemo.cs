using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Pipeline.Host.Hosting;
using Pipeline.Ingest;
using Pipeline.Scoring;
using Pipeline.Shared;
using Pipeline.Shared.Configuration;
using Pipeline.Shared.Data;
using Pipeline.Shared.Evaluation;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Model;
using Pipeline.Shared.Products;
using Pipeline.Simulation;
using Pipeline.Training.Registry;

namespace Pipeline.Host.Demo;

/// <summary>What the streaming demo runs: how many frames, how fast, and how the node scores them.</summary>
public sealed record StreamingDemoOptions
{
    /// <summary>Frames the camera simulator sends, corrupt ones included.</summary>
    public int Frames { get; init; } = 100;

    /// <summary>Frames per second the cameras send together; 0 sends as fast as Kafka takes them.</summary>
    public double FramesPerSecond { get; init; } = 5;

    public int Cameras { get; init; } = 3;

    /// <summary>Every n-th frame is a corrupt image (cut off mid-file); 0 sends none.</summary>
    public int CorruptEvery { get; init; } = 40;

    public int Seed { get; init; } = 1;

    /// <summary>How the node scores (device, CPU workers and threads, batch size); the model comes from the demo.</summary>
    public ScoringOptions Scoring { get; init; } = new();

    /// <summary>Also time the bare model on the same frames, in batches as large as the pipeline's, before streaming.</summary>
    public bool MeasureBareModel { get; init; }

    /// <summary>
    /// Continuous learning: label the good frames as good and refit after this many of them (null: no labels, no refit).
    /// </summary>
    public int? RefitAfter { get; init; }

    /// <summary>
    /// For the swap benchmark: once this many frames have results, publish this model file to the registry as the next
    /// version (as <c>pipeline models import --promote</c> would), so that the node swaps it in mid-stream.
    /// </summary>
    public ScheduledPublish? PublishMidStream { get; init; }

    /// <summary>
    /// For the swap benchmark: score in a node of its own, a <c>pipeline serve --roles scoring</c> child process joined
    /// to the demo's node (which then has the ingest and training roles), so that a scoring-only node's memory is
    /// measured apart.
    /// </summary>
    public bool SeparateScoringNode { get; init; }

    /// <summary>Where the training role keeps its model registry and sample store (a temporary folder by default).</summary>
    public string? WorkFolder { get; init; }

    /// <summary>
    /// Serve the node's HTTP endpoints with the operator console on this port of 127.0.0.1 (0: a free one), behind a
    /// signing key made for this run, and report a login link; null: no HTTP endpoints (as the benchmarks run).
    /// </summary>
    public int? ConsolePort { get; init; }

    /// <summary>Called with the summary while the node still runs; the node (and the console) stop when it returns.</summary>
    public Func<StreamingDemoSummary, CancellationToken, Task>? WhileServing { get; init; }

    /// <summary>Longest wait for the outcomes of all frames after the last was sent.</summary>
    public TimeSpan Patience { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>A model file to publish to the registry once <paramref name="AfterResults"/> frames have results.</summary>
public sealed record ScheduledPublish(string ModelFile, int AfterResults);

/// <summary>
/// The embedded default of the product, end to end and in one process: librdkafka's mock Kafka cluster with the
/// pipeline's topics, one cluster node with every role (as <c>pipeline serve</c> runs it) scoring with a trained
/// model, a camera simulator streaming the test images of a data set (good and defective parts, and a few corrupt
/// frames), and a watcher reading results, anomalies and dead letters as an alerting service would.
/// </summary>
public static class StreamingDemo
{
    /// <param name="dataFolder">A data set in MVTec AD layout; its test images are what the cameras show.</param>
    /// <param name="modelFile">The trained model artifact the node scores with.</param>
    /// <param name="report">Lines for people: live anomalies and dead letters, progress.</param>
    public static Task<StreamingDemoSummary> RunAsync(
        string dataFolder, string modelFile, StreamingDemoOptions options, Action<string> report, CancellationToken cancellation) =>
        RunAsync([new DemoProduct(ProductName.Default, dataFolder, modelFile)], options, report, cancellation);

    /// <summary>
    /// The demo with one or more products. The default product alone is the single-product demo: the node is configured
    /// as a deployment without products (its model imported as v1 by the training role). Several products: each
    /// product's model is imported into its own registry (<see cref="ModelRegistry.Open(string, string)"/>) before the
    /// node starts, the cameras are mapped to products in the node's configuration (<see cref="DemoCameras"/>), and the
    /// frames of every product stream mixed.
    /// </summary>
    /// <param name="products">The products, each with its data set and model; names distinct.</param>
    /// <param name="report">Lines for people: live anomalies and dead letters, progress.</param>
    public static async Task<StreamingDemoSummary> RunAsync(
        IReadOnlyList<DemoProduct> products, StreamingDemoOptions options, Action<string> report, CancellationToken cancellation)
    {
        if (options.Frames < 1) throw new PipelineInputException($"--frames is {options.Frames}; send at least 1 frame.");
        if (options.FramesPerSecond < 0) throw new PipelineInputException($"--rate is {options.FramesPerSecond}; use 0 (as fast as possible) or more frames per second.");
        if (options.Cameras < 1) throw new PipelineInputException($"--cameras is {options.Cameras}; use at least 1.");
        if (options.RefitAfter is < 10) throw new PipelineInputException($"--refit-after is {options.RefitAfter}; use at least 10 good frames (a fifth are held back to validate the refit).");
        if (products.Count == 0) throw new ArgumentException("The demo needs at least one product.", nameof(products));
        foreach (var product in products) ProductName.Require(product.Name, "demo product");
        if (products.Select(product => product.Name).Distinct().Count() != products.Count)
            throw new ArgumentException($"The demo's products have one name twice: {string.Join(", ", products.Select(product => product.Name))}.", nameof(products));
        var single = DemoCameras.IsSingleProduct(products);
        var names = products.Select(product => product.Name).ToArray();
        var artifacts = products.Select(product => ModelArtifact.Load(product.ModelFile)).ToArray();
        var artifact = artifacts[0];
        var modelFile = products[0].ModelFile;
        var (frames, truth) = DemoCameras.Frames(names, products.Select(product => MvtecDataset.Open(product.DataFolder)).ToArray(), options);
        var cameras = single ? options.Cameras : DemoCameras.MappedCameras(options.Cameras, products.Count) + 1;

        using var kafka = MockKafkaCluster.Start(brokers: 1);
        var topics = new TopicNames();
        kafka.CreateTopic(topics.Frames, partitions: Math.Max(3, cameras));
        kafka.CreateTopic(topics.Results, partitions: 3);
        kafka.CreateTopic(topics.Anomalies, partitions: 3);
        kafka.CreateTopic(topics.DeadLetter, partitions: 1);
        kafka.CreateTopic(topics.Labels, partitions: 1);
        kafka.CreateTopic(topics.ModelEvents, partitions: 1);
        kafka.CreateTopic(topics.AnomalyMaps, partitions: 3);
        var kafkaOptions = new KafkaOptions { BootstrapServers = kafka.BootstrapServers, ConsumerGroup = "demo-ingest", Topics = topics };
        report($"mock Kafka cluster at {kafka.BootstrapServers}; topics {topics.Frames}, {topics.Results}, {topics.Anomalies}, {topics.AnomalyMaps}, {topics.DeadLetter}");

        var settings = new Dictionary<string, string?>
        {
            [$"{ClusterOptions.Section}:ActorSystemName"] = "inspection-demo",
            [$"{ClusterOptions.Section}:Port"] = "0",
            [$"{HttpOptions.Section}:Port"] = "0",
            [$"{KafkaOptions.SectionName}:BootstrapServers"] = kafka.BootstrapServers,
            [$"{KafkaOptions.SectionName}:ConsumerGroup"] = kafkaOptions.ConsumerGroup,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        // Several products: no model path; every scorer takes each product's current version from the registries.
        if (single) settings[$"{ScoringOptions.SectionName}:ModelPath"] = modelFile;
        foreach (var (key, value) in DemoCameras.ProductSettings(names, options.Cameras)) settings[key] = value;
        AddScoringSettings(settings, options.Scoring);
        using var console = options.ConsolePort is { } consolePort ? DemoConsole.Create(settings, consolePort) : null;
        var workFolder = options.WorkFolder ?? Directory.CreateTempSubdirectory("pipeline-demo-training-").FullName;
        var registryRoot = Path.Combine(workFolder, "registry");
        AddTrainingSettings(settings, workFolder, single ? modelFile : null, single ? options.RefitAfter : null, options.RefitAfter);
        if (!single) ImportProductModels(registryRoot, products, artifacts, report);
        if (options.SeparateScoringNode) settings[$"{ClusterOptions.Section}:Roles"] = $"{ClusterRoles.Ingest},{ClusterRoles.Training}";
        using var node = PipelineHost.CreateBuilder(new PipelineHostSettings { UseDefaultSources = false, Overrides = settings }).WithPipelineRoles().Build();
        var clock = Stopwatch.StartNew();
        await node.StartAsync(cancellation);
        var scoringNode = options.SeparateScoringNode ? StartScoringNode(node, single ? modelFile : null, DemoCameras.ProductSettings(names, options.Cameras), options.Scoring, report) : null;
        try
        {
            await WaitUntilReadyAsync(node, cancellation);
            if (scoringNode is not null) await scoringNode.WaitUntilReadyAsync(cancellation);
            if (single)
                report($"node ready in {clock.Elapsed.TotalSeconds:0.0} s: ingest, scoring (model {artifact.Manifest.ModelVersion} as registry version v1, {artifact.Manifest.ImageSize} px, {artifact.Manifest.TestViews} views, threshold {artifact.Manifest.Threshold:0.###}), training" +
                       (options.RefitAfter is { } m ? $" (refit after {m} good frames)" : ""));
            else
                report($"node ready in {clock.Elapsed.TotalSeconds:0.0} s: ingest, scoring ({products.Count} products: {string.Join(", ", products.Select((p, i) => $"{p.Name} {artifacts[i].Manifest.ImageSize} px, threshold {artifacts[i].Manifest.Threshold:0.###}"))}), training" +
                       (options.RefitAfter is { } m ? $" (each product refitted after {m} of its good frames)" : ""));
            if (console is not null) foreach (var line in console.LoginLines()) report(line);

            double? bareFramesPerSecond = null;
            if (options.MeasureBareModel)
            {
                bareFramesPerSecond = MeasureBareModel(artifact, frames.Where(frame => !truth[frame.Metadata.FrameId].Corrupt).Select(frame => frame.EncodedImage).ToArray(), options);
                report($"bare model: {bareFramesPerSecond:0.0} frames/s");
            }

            var memory = MemorySampler.Start(scoringNode?.Process);
            using var watcher = new InspectionStreamWatcher(kafkaOptions,
                anomaly => report($"ANOMALY  {anomaly.CameraId}  {anomaly.FrameId}  score {anomaly.Score:0.00} > {anomaly.Threshold:0.00}  (truth: {(truth.TryGetValue(anomaly.FrameId, out var known) ? known.DefectType : "not a frame of the demo's cameras")}){RegionsText(anomaly)}"),
                dead => report($"DEAD LETTER  {dead.FrameId}  {dead.Reason}: {dead.Detail}"));
            var publishing = options.PublishMidStream is { } plan
                ? PublishWhenDueAsync(plan, watcher, ModelRegistry.Open(registryRoot, names[0]), memory, report, cancellation)
                : Task.CompletedTask;
            using var streamDone = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            var refitting = !single && options.RefitAfter is { } refitAfter
                ? ProductRefits.RunWhenDueAsync(node.Services.GetRequiredService<Akka.Hosting.ActorRegistry>().Get<TrainingRole.TrainingSingleton>(), names, refitAfter, report, streamDone.Token)
                : Task.CompletedTask;
            using var producer = KafkaClients.CreateProducer(kafkaOptions, "demo-cameras", PipelineTopic.Frames);
            report(single
                ? $"{options.Cameras} camera(s) send {frames.Count} frames at {(options.FramesPerSecond > 0 ? $"{options.FramesPerSecond:0.#} frames/s" : "full speed")}"
                : $"{cameras} cameras send {frames.Count} frames of {products.Count} products mixed at {(options.FramesPerSecond > 0 ? $"{options.FramesPerSecond:0.#} frames/s" : "full speed")}: " +
                  $"{string.Join("; ", names.Select(name => $"{name} on {string.Join(", ", DemoCameras.ProductSettings(names, options.Cameras).Where(s => s.Key.Contains($":{name}:", StringComparison.Ordinal)).Select(s => s.Value))}"))}; " +
                  $"every {DemoCameras.ChangeoverEvery}th frame from {DemoCameras.CameraId(cameras)}, mapped to no product, with a product header");
            var sent = await CameraStream.RunAsync(producer, topics.Frames, frames, new CameraStreamOptions { FramesPerSecond = options.FramesPerSecond > 0 ? options.FramesPerSecond : null }, cancellation);
            if (!sent.AllDelivered)
                throw new InvalidOperationException($"The camera simulator could not send {sent.Failed} of {sent.Sent} frames: {sent.FirstError}");

            var done = await watcher.WaitUntilAsync(w => w.DistinctResults + w.DeadLetters.Count >= frames.Count, options.Patience, cancellation);
            if (!done)
                report($"gave up waiting after {options.Patience.TotalSeconds:0} s: {watcher.DistinctResults} results and {watcher.DeadLetters.Count} dead letters for {frames.Count} frames");
            await publishing;
            await streamDone.CancelAsync();
            await refitting;
            var summary = Summarize(watcher, sent, truth, artifact, bareFramesPerSecond, options, await memory.StopAsync());
            if (!single)
            {
                var figures = ProductFigures.Of(names, watcher.Results, truth);
                summary = summary with
                {
                    Products = names,
                    ResultsPerProduct = figures.ResultsPerProduct,
                    AurocPerProduct = figures.AurocPerProduct,
                    ModelVersionsPerProduct = figures.ModelVersionsPerProduct,
                };
            }
            if (options.WhileServing is { } serve) await serve(summary, cancellation);
            return summary;
        }
        finally
        {
            if (scoringNode is not null) scoringNode.Stopping = true;
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await node.StopAsync(patience.Token);
            scoringNode?.Dispose();
            if (options.WorkFolder is null) Directory.Delete(workFolder, recursive: true);
        }
    }

    /// <summary>
    /// Starts <c>pipeline serve --roles scoring</c> (this same executable) as a child process that joins
    /// <paramref name="node"/>'s cluster and scores with <paramref name="modelFile"/> (null: with the registries' current
    /// versions only), configured with <paramref name="productSettings"/>; its log lines go to <paramref name="report"/>.
    /// </summary>
    private static ScoringNodeProcess StartScoringNode(IHost node, string? modelFile, IReadOnlyDictionary<string, string> productSettings, ScoringOptions scoring, Action<string> report)
    {
        var seed = Akka.Cluster.Cluster.Get(node.Services.GetRequiredService<Akka.Actor.ActorSystem>()).SelfAddress;
        var httpPort = FreeTcpPort();
        var start = PipelineChildProcess.StartInfo("a scoring node",
            ["serve", "--roles", ClusterRoles.Scoring, "--seed-nodes", seed.ToString(), "--port", "0", "--http-port", httpPort.ToString(CultureInfo.InvariantCulture)]);
        var settings = new Dictionary<string, string?>
        {
            [$"{ClusterOptions.Section}:ActorSystemName"] = seed.System,
            [$"{ClusterOptions.Section}:Hostname"] = seed.Host,
            [$"{HttpOptions.Section}:BindAddress"] = "127.0.0.1",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (modelFile is not null) settings[$"{ScoringOptions.SectionName}:ModelPath"] = modelFile;
        foreach (var (key, value) in productSettings) settings[key] = value;
        AddScoringSettings(settings, scoring);
        foreach (var (key, value) in settings) start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        var child = Process.Start(start) ?? throw new InvalidOperationException($"Could not start the scoring node ({start.FileName}).");
        var scoringNode = new ScoringNodeProcess(child, httpPort);
        child.OutputDataReceived += (_, line) => { if (line.Data is { Length: > 0 } text && !scoringNode.Stopping) report($"[scoring node] {text}"); };
        child.ErrorDataReceived += (_, line) => { if (line.Data is { Length: > 0 } text && !scoringNode.Stopping) report($"[scoring node] {text}"); };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        report($"scoring node: process {child.Id}, joining {seed}");
        return scoringNode;
    }

    private static int FreeTcpPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A scoring node running as a child process; disposing it kills it.</summary>
    private sealed class ScoringNodeProcess(Process process, int httpPort) : IDisposable
    {
        public Process Process { get; } = process;

        /// <summary>Set when the run ends: its log lines about the cluster going away are not reported.</summary>
        public bool Stopping { get; set; }

        /// <summary>Waits until its <c>/readyz</c> answers 200: it serves the registry's current model.</summary>
        public async Task WaitUntilReadyAsync(CancellationToken cancellation)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            while (true)
            {
                if (Process.HasExited) throw new InvalidOperationException($"The scoring node exited with code {Process.ExitCode} before it was ready.");
                try
                {
                    using var answer = await http.GetAsync($"http://127.0.0.1:{httpPort}/readyz", cancellation);
                    if (answer.IsSuccessStatusCode) return;
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
                catch (TaskCanceledException) when (!cancellation.IsCancellationRequested)
                {
                    // Busy loading: ask again.
                }
                if (DateTime.UtcNow > deadline) throw new InvalidOperationException("The scoring node did not become ready within 3 minutes.");
                await Task.Delay(200, cancellation);
            }
        }

        public void Dispose()
        {
            Stopping = true;
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }

    private static async Task WaitUntilReadyAsync(IHost node, CancellationToken cancellation)
    {
        var health = node.Services.GetRequiredService<HealthCheckService>();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            var readiness = await health.CheckReadinessAsync(cancellation);
            if (readiness.Status == HealthStatus.Healthy) return;
            if (DateTime.UtcNow > deadline)
                throw new InvalidOperationException("The demo node did not become ready within 2 minutes: " + readiness.Failing());
            await Task.Delay(100, cancellation);
        }
    }

    /// <summary>
    /// The training role's settings: registry and sample store in <paramref name="folder"/>, <paramref name="initialModel"/>
    /// imported as the default product's v1 (none: the registries were filled before), refits after
    /// <paramref name="refitEveryNewSamples"/> new good samples (none without), and a refit validated on at least
    /// <paramref name="refitAfter"/> good samples (at most 20).
    /// </summary>
    private static void AddTrainingSettings(Dictionary<string, string?> settings, string folder, string? initialModel, int? refitEveryNewSamples, int? refitAfter)
    {
        string Key(string name) => $"{Training.ContinuousTrainingOptions.SectionName}:{name}";
        settings[Key(nameof(Training.ContinuousTrainingOptions.RegistryPath))] = Path.Combine(folder, "registry");
        settings[Key(nameof(Training.ContinuousTrainingOptions.SampleStorePath))] = Path.Combine(folder, "samples");
        if (initialModel is not null) settings[Key(nameof(Training.ContinuousTrainingOptions.InitialModelPath))] = initialModel;
        settings[Key(nameof(Training.ContinuousTrainingOptions.RefitEveryNewSamples))] = (refitEveryNewSamples ?? 0).ToString(CultureInfo.InvariantCulture);
        settings[Key(nameof(Training.ContinuousTrainingOptions.RefitIntervalMinutes))] = "0";
        settings[$"{Training.Refit.RefitOptions.SectionName}:{nameof(Training.Refit.RefitOptions.MinGoodSamples)}"] =
            Math.Min(refitAfter ?? 20, 20).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The node's scoring settings as configuration keys (<c>Pipeline:Scoring:*</c>).</summary>
    private static void AddScoringSettings(Dictionary<string, string?> settings, ScoringOptions scoring)
    {
        string Key(string name) => $"{ScoringOptions.SectionName}:{name}";
        settings[Key(nameof(ScoringOptions.Device))] = scoring.Device;
        settings[Key(nameof(ScoringOptions.CpuWorkers))] = scoring.CpuWorkers.ToString(CultureInfo.InvariantCulture);
        settings[Key(nameof(ScoringOptions.MaxBatchViews))] = scoring.MaxBatchViews.ToString(CultureInfo.InvariantCulture);
        settings[Key(nameof(ScoringOptions.AnomalyMaps))] = scoring.AnomalyMaps;
        if (scoring.CpuThreads is { } threads) settings[Key(nameof(ScoringOptions.CpuThreads))] = threads.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Frames per second of the model alone on this machine: decode, prepare and score, in batches as large as the
    /// scorer's, on the device of the node's first scorer with all the CPU threads its scorers share.
    /// </summary>
    private static double MeasureBareModel(ModelArtifact artifact, IReadOnlyList<byte[]> encoded, StreamingDemoOptions options)
    {
        var scoring = options.Scoring;
        var device = ScoringActors.SelectDevices(scoring)[0];
        if (device == "cpu" && scoring.CpuThreads is { } threads) TorchSharp.torch.set_num_threads(threads); // all the node's scorers share
        using var backbone = PretrainedBackbone.Load(ComputeDevice.Resolve(device));
        using var model = DefectModel.Load(artifact, backbone);
        var perBatch = Math.Max(1, scoring.MaxBatchViews / model.TestViews.Count);
        var size = artifact.Manifest.ImageSize;
        RgbImage Prepare(byte[] bytes) => FramePreparation.Prepare(ImageDecoder.Decode(bytes, "frame"), size);

        model.Score([Prepare(encoded[0])]); // warm-up
        var frames = Math.Max(perBatch * 3, Math.Min(encoded.Count, 64));
        var clock = Stopwatch.StartNew();
        for (var start = 0; start < frames; start += perBatch)
            model.Score(Enumerable.Range(start, Math.Min(perBatch, frames - start)).Select(i => Prepare(encoded[i % encoded.Count])).ToArray());
        return frames / clock.Elapsed.TotalSeconds;
    }

    private static StreamingDemoSummary Summarize(
        InspectionStreamWatcher watcher, CameraStreamSummary sent, IReadOnlyDictionary<string, FrameTruth> truth, ModelArtifact artifact, double? bareFramesPerSecond,
        StreamingDemoOptions options, MemorySample memory)
    {
        var results = watcher.Results;
        var inOrder = results.OrderBy(r => r.PublishedAt ?? r.ScoredAt).ToArray();
        var versions = inOrder.Select(r => r.ModelVersion).Distinct().ToArray();
        var gaps = inOrder.Zip(inOrder.Skip(1), (a, b) => ((b.PublishedAt ?? b.ScoredAt) - (a.PublishedAt ?? a.ScoredAt)).TotalMilliseconds).ToArray();
        // The gap around each swap: from the last result of the old version to the first of the new one.
        var swapGaps = versions.Skip(1).Select(version =>
        {
            var first = Array.FindIndex(inOrder, r => r.ModelVersion == version);
            return first > 0 ? gaps[first - 1] : 0;
        }).ToArray();
        var firstOfEach = results.GroupBy(result => result.FrameId).Select(group => group.First()).ToArray();
        var good = firstOfEach.Where(result => !truth[result.FrameId].Defective).ToArray();
        var defective = firstOfEach.Where(result => truth[result.FrameId].Defective).ToArray();
        double? auroc = good.Length > 0 && defective.Length > 0
            ? RocAnalysis.Auroc(good.Select(r => r.Score).ToArray(), defective.Select(r => r.Score).ToArray())
            : null;
        var latencies = firstOfEach.Select(r => ((r.PublishedAt ?? r.ScoredAt) - r.CapturedAt).TotalMilliseconds).Order().ToArray();
        var span = firstOfEach.Length > 0 ? firstOfEach.Max(r => r.PublishedAt ?? r.ScoredAt) - firstOfEach.Min(r => r.CapturedAt) : TimeSpan.Zero;
        var throughput = span > TimeSpan.Zero ? firstOfEach.Length / span.TotalSeconds : 0;
        return new StreamingDemoSummary
        {
            FramesSent = (int)sent.Sent,
            CorruptFramesSent = truth.Values.Count(t => t.Corrupt),
            Results = results.Count,
            DistinctFrameIds = firstOfEach.Length,
            Anomalies = watcher.Anomalies.Select(a => a.FrameId).Distinct().Count(),
            AnomalyMaps = watcher.Maps.Select(m => m.FrameId).Distinct().Count(),
            AnomaliesWithRegions = watcher.Anomalies.Where(a => a.Regions is { Count: > 0 }).Select(a => a.FrameId).Distinct().Count(),
            DeadLettered = watcher.DeadLetters.Select(d => d.FrameId).Distinct().Count(),
            Auroc = auroc,
            DefectsFlagged = defective.Count(r => r.Verdict == InspectionVerdict.Anomalous),
            DefectiveFrames = defective.Length,
            FalseAlarms = good.Count(r => r.Verdict == InspectionVerdict.Anomalous),
            GoodFrames = good.Length,
            ModelVersion = versions.FirstOrDefault() ?? artifact.Manifest.ModelVersion,
            FramesPerSecond = throughput,
            SendRateFramesPerSecond = options.FramesPerSecond,
            BareModelFramesPerSecond = bareFramesPerSecond,
            LatencyP50Ms = Percentile(latencies, 0.50),
            LatencyP99Ms = Percentile(latencies, 0.99),
            ModelVersions = versions,
            ResultsPerVersion = firstOfEach.GroupBy(r => r.ModelVersion).ToDictionary(group => group.Key, group => group.Count()),
            LongestResultGapMs = gaps.DefaultIfEmpty(0).Max(),
            LongestSwapGapMs = swapGaps.Length > 0 ? swapGaps.Max() : null,
            PeakWorkingSetMb = memory.PeakWorkingSetBytes / 1e6,
            EndWorkingSetMb = memory.EndWorkingSetBytes / 1e6,
            PeakWorkingSetBeforeSwapMb = memory.PeakBeforeSwapBytes is { } before ? before / 1e6 : null,
            ScoringNodePeakWorkingSetMb = memory.ScoringNode?.PeakWorkingSetBytes / 1e6,
            ScoringNodePeakWorkingSetBeforeSwapMb = memory.ScoringNode?.PeakBeforeSwapBytes / 1e6,
        };
    }

    /// <summary>"  regions: 40×32 at (12, 80) peak 3.1e-05, …" for an anomaly with regions; empty without.</summary>
    private static string RegionsText(InspectionResult anomaly) =>
        anomaly.Regions is not { Count: > 0 } regions ? ""
        : "\n         regions: " + string.Join(", ", regions.Select(r => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{r.Width}×{r.Height} at ({r.X}, {r.Y}), peak {r.Peak:0.###e+0} at ({r.PeakX}, {r.PeakY}), {r.Area} px")));

    private static double Percentile(IReadOnlyList<double> sorted, double quantile) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(quantile * sorted.Count) - 1)];

    /// <summary>Each product's model published as the current version of its own registry under <paramref name="registryRoot"/>.</summary>
    private static void ImportProductModels(string registryRoot, IReadOnlyList<DemoProduct> products, IReadOnlyList<ModelArtifact> artifacts, Action<string> report)
    {
        for (var i = 0; i < products.Count; i++)
        {
            var imported = ModelRegistry.Open(registryRoot, products[i].Name).Publish(artifacts[i], $"the demo's model of {products[i].Name}", makeCurrent: true);
            report($"imported {products[i].Name}'s model as its {imported.Version}");
        }
    }

    private static async Task PublishWhenDueAsync(ScheduledPublish plan, InspectionStreamWatcher watcher, ModelRegistry registry, MemorySampler memory,
        Action<string> report, CancellationToken cancellation)
    {
        if (!await watcher.WaitUntilAsync(w => w.DistinctResults >= plan.AfterResults, TimeSpan.FromMinutes(10), cancellation)) return;
        memory.MarkSwap();
        var published = await Task.Run(() => registry
            .Publish(ModelArtifact.Load(plan.ModelFile), $"published mid-stream from {plan.ModelFile}", makeCurrent: true), cancellation);
        report($"published {published.Version} ({published.SizeBytes / 1e6:0} MB) after {plan.AfterResults} results");
    }

    /// <summary>
    /// The process's working set (and a separate scoring node's), sampled every 100 ms while the frames stream (a model
    /// swap loads a second model beside the first).
    /// </summary>
    private sealed class MemorySampler
    {
        private readonly CancellationTokenSource stop = new();
        private readonly Peak own = new();
        private readonly Peak? scoringNode;
        private Task sampling = Task.CompletedTask;

        private MemorySampler(bool withScoringNode) => scoringNode = withScoringNode ? new Peak() : null;

        /// <summary>Remembers the peaks so far: the memory of the serving setup before a model is published.</summary>
        public void MarkSwap()
        {
            own.MarkSwap();
            scoringNode?.MarkSwap();
        }

        public static MemorySampler Start(Process? scoringNode)
        {
            var sampler = new MemorySampler(scoringNode is not null);
            sampler.sampling = Task.Run(async () =>
            {
                using var process = Process.GetCurrentProcess();
                while (!sampler.stop.IsCancellationRequested)
                {
                    process.Refresh();
                    sampler.own.Sample(process.WorkingSet64);
                    if (scoringNode is { HasExited: false })
                    {
                        scoringNode.Refresh();
                        sampler.scoringNode!.Sample(scoringNode.WorkingSet64);
                    }
                    try { await Task.Delay(100, sampler.stop.Token); } catch (OperationCanceledException) { }
                }
            });
            return sampler;
        }

        public async Task<MemorySample> StopAsync()
        {
            stop.Cancel();
            await sampling;
            return new MemorySample(own.Bytes, own.BeforeSwap, scoringNode is { } node ? new MemorySample(node.Bytes, node.BeforeSwap, null, node.Last) : null, own.Last);
        }

        private sealed class Peak
        {
            private long bytes;
            private long? beforeSwap;

            private long last;

            public long Bytes => Interlocked.Read(ref bytes);

            /// <summary>The last sample: the working set when the stream had ended, every model loaded and the load's garbage left to the collector's own pace.</summary>
            public long Last => Interlocked.Read(ref last);
            public long? BeforeSwap => beforeSwap;

            public void Sample(long workingSet)
            {
                Interlocked.Exchange(ref last, workingSet);
                long seen;
                while (workingSet > (seen = Interlocked.Read(ref bytes)) && Interlocked.CompareExchange(ref bytes, workingSet, seen) != seen) { }
            }

            public void MarkSwap() => beforeSwap = Bytes;
        }
    }

    private sealed record MemorySample(long PeakWorkingSetBytes, long? PeakBeforeSwapBytes, MemorySample? ScoringNode, long EndWorkingSetBytes);
}
