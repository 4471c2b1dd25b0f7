using System.CommandLine;
using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using Pipeline.Shared;
using Pipeline.Shared.Data;
using Pipeline.Shared.Features;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Kafka;
using Pipeline.Shared.Model;
using Pipeline.Shared.Progress;
using Pipeline.Shared.Training;
using Pipeline.Training;
using Pipeline.Training.Refit;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Host.Cli;

/// <summary>
/// <c>pipeline benchmark refit</c>: the time of a refit on stored features against DifferNet's way of training, which
/// runs the backbone over every training view in every epoch, for the same images, views, flow, optimiser, batch
/// size and epochs. The figures in docs/benchmarks.md ("Refit on stored features vs backbone per epoch") come from here.
/// </summary>
public static class RefitBenchmark
{
    /// <summary>What one run measured; written with <c>--json</c>.</summary>
    public sealed record Result(
        string Device, int TorchThreads, int Images, int TrainingImages, int ImageSize, int Views, int Epochs, int BatchSize,
        int CouplingBlocks, int HiddenWidth, double LearningRate, long FlowParameters,
        double ExtractionSeconds, double RefitSeconds, double RefitTrainingSeconds, bool RefitAccepted, string? RefitRejection,
        double BackboneEveryEpochSeconds, double BackboneEveryEpochFinalLoss, double RefitFinalLoss)
    {
        /// <summary>DifferNet's way over the refit including the one-time feature extraction.</summary>
        public double SpeedupWithExtraction => BackboneEveryEpochSeconds / (ExtractionSeconds + RefitSeconds);

        /// <summary>DifferNet's way over the refit alone (the features already stored by the scoring nodes).</summary>
        public double SpeedupOnStoredFeatures => BackboneEveryEpochSeconds / RefitSeconds;
    }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // the rejection sentence stays readable
    };

    public static Command Create()
    {
        var defaults = new RefitOptions();
        var data = new Option<string>("--data") { Description = "category folder in MVTec AD layout (train/good is used)", Required = true };
        var images = new Option<int>("--images") { Description = "good training images to use (the first N in name order)", DefaultValueFactory = _ => 100 };
        var imageSize = new Option<int>("--image-size") { Description = "side S of the square input image", DefaultValueFactory = _ => TrainingOptions.Cpu.ImageSize };
        var views = new Option<int>("--views") { Description = "test views (evenly spaced rotations) per image: the rows stored per frame", DefaultValueFactory = _ => TrainingOptions.Cpu.TestViews };
        var epochs = new Option<int>("--epochs") { Description = "epochs of both ways", DefaultValueFactory = _ => defaults.Epochs };
        var batchSize = new Option<int>("--batch-size") { Description = "feature vectors (views) per optimisation step", DefaultValueFactory = _ => defaults.BatchSize };
        var learningRate = new Option<double>("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => defaults.LearningRate };
        var hiddenWidth = new Option<int>("--hidden-width") { Description = "flow hidden width (without --model)", DefaultValueFactory = _ => TrainingOptions.Cpu.HiddenWidth };
        var blocks = new Option<int>("--coupling-blocks") { Description = "coupling blocks in the flow (without --model)", DefaultValueFactory = _ => TrainingOptions.Cpu.CouplingBlocks };
        var model = new Option<string?>("--model") { Description = "serving model to start from (default: a freshly initialised flow of the given shape)" };
        var json = new Option<string?>("--json") { Description = "also write the figures as JSON to this file" };
        var common = new CommonOptions();
        var command = new Command("refit", "Time a refit on stored features against running the backbone in every epoch (DifferNet's way).")
        {
            data, images, imageSize, views, epochs, batchSize, learningRate, hiddenWidth, blocks, model, json,
        };
        command.Add(common.Device);
        command.Add(common.Threads);
        command.SetAction((parse, cancellation) => CommandRunner.Run(token =>
        {
            var device = common.ResolveDevice(parse);
            var size = parse.GetValue(imageSize);
            var options = new RefitOptions
            {
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batchSize),
                LearningRate = parse.GetValue(learningRate),
            };
            if (options.Problems() is [var problem, ..]) throw new PipelineInputException(problem);
            if (parse.GetValue(views) < 1) throw new PipelineInputException($"--views must be at least 1, got {parse.GetValue(views)}.");
            if (parse.GetValue(images) < options.MinGoodSamples)
                throw new PipelineInputException($"--images must be at least {options.MinGoodSamples} (a refit's fewest good samples), got {parse.GetValue(images)}.");
            var testViews = InspectionViews.ForTesting(parse.GetValue(views), rotations: true);
            using var backbone = PretrainedBackbone.Load(device);
            var serving = parse.GetValue(model) is { } modelPath
                ? ModelArtifact.Load(modelPath)
                : FreshModel(backbone.Sha256, size, testViews.Count, TrainingOptions.Cpu with { HiddenWidth = parse.GetValue(hiddenWidth), CouplingBlocks = parse.GetValue(blocks) });
            if (serving.Manifest.ImageSize != size || serving.Manifest.TestViews != testViews.Count)
                throw new PipelineInputException($"--model works on {serving.Manifest.ImageSize} px with {serving.Manifest.TestViews} test views; pass --image-size {serving.Manifest.ImageSize} --views {serving.Manifest.TestViews}.");

            var dataset = MvtecDataset.Open(parse.GetValue(data)!);
            dataset.RequireTrainingImages();
            var paths = dataset.TrainGoodImages.Take(parse.GetValue(images)).ToArray();
            var extractor = new ViewFeatureExtractor(backbone, size, cache: null);
            var prepared = paths.Select(path => extractor.Prepare(ImageDecoder.Decode(File.ReadAllBytes(path), path))).ToArray();
            var imagesPerBatch = Math.Max(1, options.BatchSize / testViews.Count);
            using var probe = new CouplingFlow(serving.Manifest.Flow);
            Console.WriteLine($"device {device}, torch threads {get_num_threads()}; {prepared.Length} images of {size} px decoded in memory, {testViews.Count} views each; "
                + $"flow {serving.Manifest.Flow.CouplingBlocks} blocks of width {serving.Manifest.Flow.HiddenWidth} ({probe.parameters().Sum(p => p.numel()) / 1e6:0.0} M parameters); "
                + $"{options.Epochs} epochs, batch {options.BatchSize} views ({imagesPerBatch} images × {testViews.Count} views for the backbone), Adam {options.LearningRate:g3}");

            // (a) Features once (as the scoring nodes compute and store them), then the refit on them.
            var clock = Stopwatch.StartNew();
            var samples = new List<FeatureSample>(prepared.Length);
            foreach (var chunk in prepared.Index().Chunk(imagesPerBatch))
            {
                token.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var values = extractor.Extract(chunk.Select(item => item.Item).ToArray(), testViews).cpu().data<float>().ToArray(); // [n·V·768]
                var perImage = testViews.Count * FeatureSample.FeatureSize;
                foreach (var (at, (index, _)) in chunk.Index())
                    samples.Add(new FeatureSample($"{index:D5}", "benchmark", FrameLabel.Good, DateTimeOffset.UnixEpoch, size, testViews.Count, values.AsSpan(at * perImage, perImage).ToArray()));
            }
            var extractionSeconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"(a) feature extraction once: {extractionSeconds:0.0} s ({1000 * extractionSeconds / (prepared.Length * testViews.Count):0.0} ms per view)");

            clock.Restart();
            var refit = FlowRefit.Run(serving, samples, [], options, "benchmark", device, SilentProgress.Instance, token);
            var refitSeconds = clock.Elapsed.TotalSeconds;
            var validation = refit.Validation;
            Console.WriteLine($"(a) refit on stored features: {refitSeconds:0.0} s ({validation.TrainingSeconds:0.0} s fitting {validation.TrainingSamples} images × {testViews.Count} views, the rest the gate on {validation.HeldBackGood} held back); "
                + (refit.IsAccepted ? "accepted" : $"rejected: {refit.RejectionReason}"));

            // (b) DifferNet's way: the same training images, warm start, optimiser and batch size; the backbone runs every epoch.
            var (training, _) = FlowRefit.Split(samples, options);
            var trainingImages = training.Select(sample => prepared[int.Parse(sample.FrameId)]).ToArray();
            var (backboneSeconds, backboneLoss) = TrainWithBackboneEveryEpoch(serving, extractor, trainingImages, testViews, options, device, token);
            Console.WriteLine($"(b) backbone in every epoch: {backboneSeconds:0.0} s ({backboneSeconds / options.Epochs:0.0} s per epoch), final loss {backboneLoss:0.0000} (refit: {validation.FinalLoss:0.0000})");

            var result = new Result(device.ToString(), get_num_threads(), prepared.Length, trainingImages.Length, size, testViews.Count, options.Epochs, options.BatchSize,
                serving.Manifest.Flow.CouplingBlocks, serving.Manifest.Flow.HiddenWidth, options.LearningRate, probe.parameters().Sum(p => p.numel()),
                extractionSeconds, refitSeconds, validation.TrainingSeconds, refit.IsAccepted, refit.RejectionReason,
                backboneSeconds, backboneLoss, validation.FinalLoss ?? double.NaN);
            Console.WriteLine($"speed-up: {result.SpeedupWithExtraction:0.0}x including the one-time extraction, {result.SpeedupOnStoredFeatures:0.0}x on stored features");
            Console.WriteLine($"peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024):0} MiB");
            if (parse.GetValue(json) is { } jsonPath)
            {
                File.WriteAllText(jsonPath, JsonSerializer.Serialize(result, Json) + Environment.NewLine);
                Console.WriteLine($"JSON written to {jsonPath}");
            }
            return CommandRunner.Success;
        }, cancellation));
        return command;
    }

    /// <summary>
    /// DifferNet's training loop, warm-started from <paramref name="serving"/>: every epoch, shuffled batches of images go
    /// through view rendering and the frozen backbone (no_grad, eval mode), and their views' features make one flow step.
    /// </summary>
    private static (double Seconds, double FinalLoss) TrainWithBackboneEveryEpoch(
        ModelArtifact serving, ViewFeatureExtractor extractor, IReadOnlyList<RgbImage> images, IReadOnlyList<ViewTransform> views,
        RefitOptions options, Device device, CancellationToken cancellation)
    {
        var settings = options.ForFlowTrainer();
        using var flow = new CouplingFlow(serving.Manifest.Flow);
        using (var stream = serving.OpenWeights()) flow.load(stream, strict: true);
        flow.to(device);
        using var optimizer = optim.Adam(flow.parameters(), settings.LearningRate, settings.Beta1, settings.Beta2, settings.AdamEpsilon, settings.WeightDecay);
        var generator = new Generator((ulong)settings.Seed);
        var imagesPerBatch = Math.Max(1, settings.BatchSize / views.Count);
        double lastEpochLoss = double.NaN;
        var clock = Stopwatch.StartNew();
        flow.train();
        for (var epoch = 0; epoch < settings.Epochs; epoch++)
        {
            double lossSum = 0;
            var steps = 0;
            using var order = randperm(images.Count, generator: generator);
            var shuffled = order.data<long>().ToArray();
            for (var start = 0; start < shuffled.Length; start += imagesPerBatch)
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var batchImages = shuffled.Skip(start).Take(imagesPerBatch).Select(i => images[(int)i]).ToArray();
                var features = extractor.Extract(batchImages, views); // [n·V, 768], under no_grad, backbone in eval mode
                if (features.shape[0] < 2) continue;
                optimizer.zero_grad();
                var (z, logDeterminant) = flow.call(features);
                var loss = CouplingFlow.NegativeLogLikelihood(z, logDeterminant);
                loss.backward();
                optimizer.step();
                lossSum += loss.item<float>();
                steps++;
            }
            lastEpochLoss = lossSum / Math.Max(1, steps);
        }
        flow.eval();
        return (clock.Elapsed.TotalSeconds, lastEpochLoss);
    }

    private static ModelArtifact FreshModel(string backboneSha256, int imageSize, int testViews, TrainingOptions shape) =>
        ModelTraining.UntrainedArtifact("fresh", shape.Flow, backboneSha256, imageSize, testViews, shape.Seed, double.MaxValue);
}
