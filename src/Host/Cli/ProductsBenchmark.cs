using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pipeline.Host.Demo;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Model;
using Pipeline.Shared.Products;
using Pipeline.Simulation;
using Pipeline.Training;
using static TorchSharp.torch;

namespace Pipeline.Host.Cli;

/// <summary>
/// <c>pipeline benchmark products</c>: what serving several products on one node costs, in one run on one machine.
/// <list type="number">
/// <item>End to end (the streaming demo at rate 0, the same total frame count): frames/s with one product and with N,
/// and the process's peak working set of each, so the memory an added product costs (goal: about one flow).</item>
/// <item>The scoring step alone, on mixed batches of N products' frames: the naive way, one backbone pass per product
/// (as one model server per product would run), against <see cref="SharedBackbonePass"/>, one pass for the whole
/// batch; time per frame of each, and the largest score difference between the two.</item>
/// </list>
/// The flows are freshly initialised (their scores mean nothing; their threshold flags nothing): what is measured is
/// compute and memory, which do not depend on what the weights learned.
/// </summary>
public static class ProductsBenchmark
{
    /// <summary>What one run measured; written with <c>--json</c>.</summary>
    public sealed record Result(
        string Device, int TorchThreads, int ImageSize, int TestViews, int CouplingBlocks, int HiddenWidth, int Products,
        double FlowMb, double BackboneMb, string LoadAverageBefore, string LoadAverageAfter,
        StreamFigures? Stream, SharedPassFigures SharedPass);

    /// <summary>The end-to-end part: the same total frames at rate 0 with one product and with <see cref="Result.Products"/>.</summary>
    /// <param name="ThroughputRatio">Frames/s with the products over frames/s with one (goal: at least 0.95).</param>
    /// <param name="WorkingSetPerAddedProductMb">(peak with the products − peak with one) / (products − 1).</param>
    /// <param name="EndWorkingSetPerAddedProductMb">The same from the working sets when each stream had ended (every model loaded, the loads' garbage left to the collector).</param>
    public sealed record StreamFigures(
        int Frames, double OneProductFramesPerSecond, double ProductsFramesPerSecond, double ThroughputRatio,
        double OneProductPeakWorkingSetMb, double ProductsPeakWorkingSetMb, double WorkingSetPerAddedProductMb,
        bool OneProductComplete, bool ProductsComplete, string? ProductsError,
        double OneProductEndWorkingSetMb, double ProductsEndWorkingSetMb, double EndWorkingSetPerAddedProductMb);

    /// <summary>The scoring step alone: one backbone pass per product vs one shared pass, per frame, median of the rounds.</summary>
    /// <param name="BatchFrames">Frames per mixed batch (the products take turns).</param>
    /// <param name="MaxScoreDifference">Largest |naive − shared| score over every frame (the two ways must agree).</param>
    public sealed record SharedPassFigures(
        int Frames, int BatchFrames, int Rounds, double NaiveMsPerFrame, double SharedMsPerFrame, double SavingPercent, double MaxScoreDifference);

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static Command Create()
    {
        var hiddenWidth = new Option<int>("--hidden-width") { Description = "flow hidden width (DifferNet: 2048)", DefaultValueFactory = _ => 2048 };
        var blocks = new Option<int>("--coupling-blocks") { Description = "coupling blocks (DifferNet: 8)", DefaultValueFactory = _ => 8 };
        var imageSize = new Option<int>("--image-size") { Description = "side of the frames and the models' input (the demo's default)", DefaultValueFactory = _ => 128 };
        var views = new Option<int>("--test-views") { Description = "test views per frame (the demo's)", DefaultValueFactory = _ => 8 };
        var products = new Option<int>("--products") { Description = $"products to compare with one (2 to {PartLook.Products.Count})", DefaultValueFactory = _ => 3 };
        var streamFrames = new Option<int>("--stream-frames") { Description = "frames the cameras send in each end-to-end run (0 = skip the end-to-end part)", DefaultValueFactory = _ => 120 };
        var passFrames = new Option<int>("--pass-frames") { Description = "frames scored per round in the scoring-step part", DefaultValueFactory = _ => 24 };
        var batchFrames = new Option<int>("--batch-frames") { Description = "frames per mixed batch (the pipeline's default: 64 views / test views)", DefaultValueFactory = _ => 8 };
        var rounds = new Option<int>("--rounds") { Description = "rounds of each way in the scoring-step part (alternating; the median is reported)", DefaultValueFactory = _ => 5 };
        var json = new Option<string?>("--json") { Description = "also write the figures as JSON to this file" };
        var common = new CommonOptions();
        var command = new Command("products", "Measure what several products cost on one node: end-to-end frames/s and memory with 1 and N products, and one shared backbone pass against one per product.")
        {
            hiddenWidth, blocks, imageSize, views, products, streamFrames, passFrames, batchFrames, rounds, json,
        };
        common.AddTo(command);
        command.SetAction((parse, cancellation) => CommandRunner.RunAsync(async token =>
        {
            var count = parse.GetValue(products);
            if (count < 2 || count > PartLook.Products.Count)
                throw new Shared.PipelineInputException($"--products is {count}; compare 2 to {PartLook.Products.Count} products with one.");
            if (parse.GetValue(batchFrames) < 1 || parse.GetValue(passFrames) < 1 || parse.GetValue(rounds) < 1)
                throw new Shared.PipelineInputException("--batch-frames, --pass-frames and --rounds take 1 or more.");
            var root = Directory.CreateTempSubdirectory("pipeline-products-benchmark-").FullName;
            try
            {
                var loadBefore = LoadAverage();
                var device = common.ResolveDevice(parse);
                var size = parse.GetValue(imageSize);
                var testViews = parse.GetValue(views);
                var flow = (TrainingOptions.Cpu with { HiddenWidth = parse.GetValue(hiddenWidth), CouplingBlocks = parse.GetValue(blocks) }).Flow;
                string backboneSha;
                double backboneMb;
                using (var backbone = PretrainedBackbone.Load(CPU))
                {
                    backboneSha = backbone.Sha256;
                    backboneMb = backbone.Pyramid.parameters().Sum(p => p.numel()) * 4 / 1e6;
                }
                var looks = PartLook.Products.Take(count).ToArray();
                var artifacts = looks.Select((look, i) => Artifact(Path.Combine(root, "models", look.Name, ModelArtifact.DefaultFileName), $"benchmark-{look.Name}", flow, backboneSha, size, testViews, seed: i + 1)).ToArray();
                var flowMb = new FileInfo(artifacts[0]).Length / 1e6;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{count} products; flow: {flow.CouplingBlocks} blocks of width {flow.HiddenWidth}, artifact {flowMb:0} MB; backbone {backboneMb:0} MB; {size} px, {testViews} views; load average {loadBefore}"));

                StreamFigures? stream = null;
                if (parse.GetValue(streamFrames) is var framesToStream and > 0)
                    stream = await MeasureStreamAsync(root, looks, artifacts, size, framesToStream, token);

                var sharedPass = MeasureSharedPass(artifacts, looks, device, size, parse.GetValue(passFrames), parse.GetValue(batchFrames), parse.GetValue(rounds), token);
                var result = new Result(device.ToString(), get_num_threads(), size, testViews, flow.CouplingBlocks, flow.HiddenWidth, count, flowMb, backboneMb,
                    loadBefore, LoadAverage(), stream, sharedPass);
                Print(result);
                if (parse.GetValue(json) is { } path)
                {
                    var folder = Path.GetDirectoryName(Path.GetFullPath(path));
                    if (folder is not null) Directory.CreateDirectory(folder);
                    await File.WriteAllTextAsync(path, JsonSerializer.Serialize(result, Json) + Environment.NewLine, token);
                }
                return stream is null || (stream.OneProductComplete && stream.ProductsComplete) ? CommandRunner.Success : CommandRunner.UnexpectedFailure;
            }
            finally
            {
                Directory.Delete(root, recursive: true);
            }
        }, cancellation));
        return command;
    }

    /// <summary>The streaming demo twice, at rate 0 with the same frames in all: the default product alone, then every product mixed.</summary>
    private static async Task<StreamFigures> MeasureStreamAsync(string root, IReadOnlyList<PartLook> looks, IReadOnlyList<string> artifacts, int size, int frames, CancellationToken token)
    {
        var options = new StreamingDemoOptions { Frames = frames, FramesPerSecond = 0, CorruptEvery = 0 };
        DemoProduct Product(string name, PartLook look, string model, int seed)
        {
            var data = Path.Combine(root, "parts", name);
            SyntheticParts.WriteMvtecFolder(data, trainGood: 3, testGood: 20, testPerDefect: 4, size, seed, look);
            return new DemoProduct(name, data, model);
        }

        void Quiet(string line)
        {
            if (!line.StartsWith("ANOMALY", StringComparison.Ordinal)) Console.WriteLine(line);
        }

        Console.WriteLine($"end to end, 1 product: {frames} frames at rate 0");
        var one = await StreamingDemo.RunAsync([Product(ProductName.Default, looks[0], artifacts[0], seed: 1)], options with { WorkFolder = Path.Combine(root, "one") }, Quiet, token);
        Console.WriteLine(one);
        CollectGarbage();

        Console.WriteLine($"end to end, {looks.Count} products: {frames} frames at rate 0");
        StreamingDemoSummary? many = null;
        string? error = null;
        try
        {
            many = await StreamingDemo.RunAsync(looks.Select((look, i) => Product(look.Name, look, artifacts[i], seed: i + 1)).ToArray(),
                options with { WorkFolder = Path.Combine(root, "many") }, Quiet, token);
            Console.WriteLine(many);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            error = e.Message;
            Console.WriteLine($"the {looks.Count}-product run failed: {e.Message}");
        }
        CollectGarbage();

        var manyFps = many?.FramesPerSecond ?? 0;
        var manyPeak = many?.PeakWorkingSetMb ?? 0;
        return new StreamFigures(frames, one.FramesPerSecond, manyFps, one.FramesPerSecond > 0 ? manyFps / one.FramesPerSecond : 0,
            one.PeakWorkingSetMb, manyPeak, many is null ? 0 : (manyPeak - one.PeakWorkingSetMb) / (looks.Count - 1),
            one.Complete, many?.Complete ?? false, error,
            one.EndWorkingSetMb, many?.EndWorkingSetMb ?? 0, many is null ? 0 : (many.EndWorkingSetMb - one.EndWorkingSetMb) / (looks.Count - 1));
    }

    /// <summary>
    /// Mixed batches of every product's frames, scored both ways in alternating rounds (so that a change in the machine's
    /// load hits both alike): one backbone pass per product of the batch, and one <see cref="SharedBackbonePass"/>.
    /// </summary>
    private static SharedPassFigures MeasureSharedPass(IReadOnlyList<string> artifactFiles, IReadOnlyList<PartLook> looks, Device device, int size,
        int frames, int batchFrames, int rounds, CancellationToken token)
    {
        using var backbone = PretrainedBackbone.Load(device);
        var models = artifactFiles.Select(file => DefectModel.Load(ModelArtifact.Load(file), backbone)).ToArray();
        try
        {
            var generators = looks.Select(look => new SyntheticParts(size, look)).ToArray();
            var rng = new Random(1);
            var mixed = Enumerable.Range(0, frames).Select(i => (Model: models[i % models.Length], Prepared: FramePreparation.Prepare(generators[i % models.Length].Good(rng), size))).ToArray();
            var batches = mixed.Chunk(batchFrames).ToArray();

            double[] Naive() => batches.SelectMany(batch =>
            {
                var scores = new double[batch.Length];
                foreach (var model in models)
                {
                    var mine = Enumerable.Range(0, batch.Length).Where(i => batch[i].Model == model).ToArray();
                    if (mine.Length == 0) continue;
                    var own = model.Score(mine.Select(i => batch[i].Prepared).ToArray());
                    for (var k = 0; k < mine.Length; k++) scores[mine[k]] = own[k];
                }
                return scores;
            }).ToArray();
            double[] Shared() => batches.SelectMany(batch => SharedBackbonePass.Score(batch)).ToArray();

            // Warm-up: first-call allocations and kernel selection, for both ways.
            Naive();
            var shared = Shared();
            var naiveTimes = new List<double>();
            var sharedTimes = new List<double>();
            var maxDifference = 0.0;
            for (var round = 0; round < rounds; round++)
            {
                token.ThrowIfCancellationRequested();
                var clock = Stopwatch.StartNew();
                var naive = Naive();
                naiveTimes.Add(clock.Elapsed.TotalMilliseconds / frames);
                clock.Restart();
                shared = Shared();
                sharedTimes.Add(clock.Elapsed.TotalMilliseconds / frames);
                maxDifference = Math.Max(maxDifference, naive.Zip(shared, (a, b) => Math.Abs(a - b)).Max());
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round + 1}: one pass per product {naiveTimes[^1]:0.0} ms per frame, shared pass {sharedTimes[^1]:0.0} ms per frame"));
            }
            var (naiveMs, sharedMs) = (Median(naiveTimes), Median(sharedTimes));
            return new SharedPassFigures(frames, batchFrames, rounds, naiveMs, sharedMs, (naiveMs - sharedMs) / naiveMs * 100, maxDifference);
        }
        finally
        {
            foreach (var model in models) model.Dispose();
        }
    }

    private static void Print(Result result)
    {
        var invariant = CultureInfo.InvariantCulture;
        Console.WriteLine();
        Console.WriteLine(string.Create(invariant, $"device {result.Device}, torch threads {result.TorchThreads}; {result.Products} products; flow {result.FlowMb:0} MB, backbone {result.BackboneMb:0} MB"));
        if (result.Stream is { } s)
        {
            Console.WriteLine(string.Create(invariant, $"end to end, {s.Frames} frames at rate 0: 1 product {s.OneProductFramesPerSecond:0.0} frames/s, {result.Products} products {s.ProductsFramesPerSecond:0.0} frames/s ({s.ThroughputRatio * 100:0} %)"));
            Console.WriteLine(string.Create(invariant, $"peak working set: 1 product {s.OneProductPeakWorkingSetMb:0} MB, {result.Products} products {s.ProductsPeakWorkingSetMb:0} MB: {s.WorkingSetPerAddedProductMb:0} MB per added product (one flow: {result.FlowMb:0} MB)"));
            Console.WriteLine(string.Create(invariant, $"working set when the stream had ended: 1 product {s.OneProductEndWorkingSetMb:0} MB, {result.Products} products {s.ProductsEndWorkingSetMb:0} MB: {s.EndWorkingSetPerAddedProductMb:0} MB per added product"));
            if (s.ProductsError is { } error) Console.WriteLine($"the {result.Products}-product run failed: {error}");
        }
        var p = result.SharedPass;
        Console.WriteLine(string.Create(invariant, $"scoring step, {p.Frames} frames in mixed batches of {p.BatchFrames}: one backbone pass per product {p.NaiveMsPerFrame:0.0} ms per frame, shared pass {p.SharedMsPerFrame:0.0} ms per frame ({p.SavingPercent:0} % saved); largest score difference {p.MaxScoreDifference:0.###e+0}"));
        Console.WriteLine($"load average before {result.LoadAverageBefore}, after {result.LoadAverageAfter}");
    }

    /// <summary>A freshly initialised flow of <paramref name="flow"/>'s shape saved as an artifact; its threshold flags nothing.</summary>
    private static string Artifact(string path, string version, FlowConfig flow, string backboneSha, int imageSize, int views, int seed)
    {
        ModelTraining.UntrainedArtifact(version, flow with { PermutationSeed = seed }, backboneSha, imageSize, views, seed, threshold: 1e12).Save(path);
        CollectGarbage();
        return path;
    }

    /// <summary>Making artifacts and running a demo leave garbage in this process; the next measurement starts without it.</summary>
    private static void CollectGarbage()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>The 1, 5 and 15 minute load averages (<c>/proc/loadavg</c>), or "unknown" where there is none.</summary>
    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
