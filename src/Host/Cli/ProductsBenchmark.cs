using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pipeline.Host.Demo;
using Pipeline.Host.Hosting;
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
/// each run in a process of its own, and that process's peak working set, so the memory an added product costs (goal:
/// about one flow).</item>
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
    /// <param name="OneProductMsPerFrame">The baseline: the same number of frames, all of one product, in batches of <paramref name="BatchFrames"/>.</param>
    /// <param name="SharedPerProductBatchMsPerFrame">The shared pass on mixed batches that hold <paramref name="BatchFrames"/> frames of each product (so each flow sees as many rows as in the baseline).</param>
    public sealed record SharedPassFigures(
        int Frames, int BatchFrames, int Rounds, double NaiveMsPerFrame, double SharedMsPerFrame, double SavingPercent, double MaxScoreDifference,
        double OneProductMsPerFrame, double SharedPerProductBatchMsPerFrame);

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
        var streamChild = new Option<string?>("--stream-child") { Hidden = true, Description = "internal: run one end-to-end stream in this process over the artifacts in this folder and write its summary there" };
        var streamProducts = new Option<int>("--stream-products") { Hidden = true, Description = "internal: products of the --stream-child stream", DefaultValueFactory = _ => 1 };
        var common = new CommonOptions();
        var command = new Command("products", "Measure what several products cost on one node: end-to-end frames/s and memory with 1 and N products, and one shared backbone pass against one per product.")
        {
            hiddenWidth, blocks, imageSize, views, products, streamFrames, passFrames, batchFrames, rounds, json, streamChild, streamProducts,
        };
        common.AddTo(command);
        command.SetAction((parse, cancellation) => CommandRunner.RunAsync(async token =>
        {
            if (parse.GetValue(streamChild) is { } childRoot)
                return await RunStreamAsync(childRoot, PartLook.Products.Take(parse.GetValue(streamProducts)).ToArray(), parse.GetValue(imageSize), parse.GetValue(streamFrames), token);
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
                var artifacts = looks.Select((look, i) => UntrainedArtifacts.Save(ArtifactPath(root, look), $"benchmark-{look.Name}", flow, backboneSha, size, testViews, seed: i + 1)).ToArray();
                var flowMb = new FileInfo(artifacts[0]).Length / 1e6;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{count} products; flow: {flow.CouplingBlocks} blocks of width {flow.HiddenWidth}, artifact {flowMb:0} MB; backbone {backboneMb:0} MB; {size} px, {testViews} views; load average {loadBefore}"));

                StreamFigures? stream = null;
                if (parse.GetValue(streamFrames) is var framesToStream and > 0)
                    stream = await MeasureStreamAsync(root, looks, size, framesToStream, token);

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

    /// <summary>
    /// The streaming demo twice, at rate 0 with the same frames in all: the default product alone, then every product
    /// mixed, each in a process of its own (this executable, <c>--stream-child</c>), so that each run's memory is its own
    /// and not what making the artifacts or the other run left in this process.
    /// </summary>
    private static async Task<StreamFigures> MeasureStreamAsync(string root, IReadOnlyList<PartLook> looks, int size, int frames, CancellationToken token)
    {
        Console.WriteLine($"end to end, 1 product: {frames} frames at rate 0, in a process of its own");
        var one = await RunStreamChildAsync(root, 1, size, frames, token);
        Console.WriteLine($"end to end, {looks.Count} products: {frames} frames at rate 0, in a process of its own");
        var many = await RunStreamChildAsync(root, looks.Count, size, frames, token);
        if (one.Error is { } oneError) throw new InvalidOperationException($"The 1-product run failed: {oneError}");

        var manyFps = many.FramesPerSecond;
        return new StreamFigures(frames, one.FramesPerSecond, manyFps, one.FramesPerSecond > 0 ? manyFps / one.FramesPerSecond : 0,
            one.PeakWorkingSetMb, many.PeakWorkingSetMb, many.Error is null ? (many.PeakWorkingSetMb - one.PeakWorkingSetMb) / (looks.Count - 1) : 0,
            one.Complete, many.Complete, many.Error,
            one.EndWorkingSetMb, many.EndWorkingSetMb, many.Error is null ? (many.EndWorkingSetMb - one.EndWorkingSetMb) / (looks.Count - 1) : 0);
    }

    /// <summary>What a child's stream reported (from its summary JSON), or why it did not.</summary>
    private sealed record ChildStream(double FramesPerSecond, double PeakWorkingSetMb, double EndWorkingSetMb, bool Complete, string? Error);

    private static async Task<ChildStream> RunStreamChildAsync(string root, int products, int size, int frames, CancellationToken token)
    {
        var start = PipelineChildProcess.StartInfo("the stream's process",
            ["benchmark", "products", "--stream-child", root, "--stream-products", products.ToString(CultureInfo.InvariantCulture),
             "--stream-frames", frames.ToString(CultureInfo.InvariantCulture), "--image-size", size.ToString(CultureInfo.InvariantCulture)]);
        using var child = Process.Start(start) ?? throw new InvalidOperationException($"Could not start the stream's process ({start.FileName}).");
        void Relay(string? line)
        {
            if (line is { Length: > 0 } && !line.StartsWith("ANOMALY", StringComparison.Ordinal)) Console.WriteLine($"  [{products} product{(products == 1 ? "" : "s")}] {line}");
        }
        child.OutputDataReceived += (_, e) => Relay(e.Data);
        child.ErrorDataReceived += (_, e) => Relay(e.Data);
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        try
        {
            await child.WaitForExitAsync(token);
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
            throw;
        }
        var summary = SummaryPath(root, products);
        if (!File.Exists(summary)) return new ChildStream(0, 0, 0, false, $"its process exited with {child.ExitCode} and wrote no summary ({summary})");
        var figures = StreamingDemoSummary.ReadJson(summary);
        return new ChildStream(figures.FramesPerSecond, figures.PeakWorkingSetMb, figures.EndWorkingSetMb, figures.Complete,
            child.ExitCode == CommandRunner.Success ? null : $"its process exited with {child.ExitCode}");
    }

    private static string SummaryPath(string root, int products) => Path.Combine(root, $"stream-{products}.json");

    /// <summary>The child's side: one stream of the first <paramref name="looks"/>' products over the artifacts the parent made, its summary written for the parent.</summary>
    private static async Task<int> RunStreamAsync(string root, IReadOnlyList<PartLook> looks, int size, int frames, CancellationToken token)
    {
        var options = new StreamingDemoOptions { Frames = frames, FramesPerSecond = 0, CorruptEvery = 0, WorkFolder = Path.Combine(root, $"stream-{looks.Count}") };
        DemoProduct Product(string name, PartLook look, int seed)
        {
            var data = Path.Combine(root, "parts", name);
            if (!Directory.Exists(data)) SyntheticParts.WriteMvtecFolder(data, trainGood: 3, testGood: 20, testPerDefect: 4, size, seed, look);
            return new DemoProduct(name, data, ArtifactPath(root, look));
        }
        // One product: the default product (no product configuration at all, as a single-product cluster runs).
        var products = looks.Count == 1
            ? [Product(ProductName.Default, looks[0], seed: 1)]
            : looks.Select((look, i) => Product(look.Name, look, seed: i + 1)).ToArray();
        var summary = await StreamingDemo.RunAsync(products, options, Console.WriteLine, token);
        Console.WriteLine(summary);
        summary.WriteJson(SummaryPath(root, looks.Count));
        return summary.Complete ? CommandRunner.Success : CommandRunner.UnexpectedFailure;
    }

    private static string ArtifactPath(string root, PartLook look) => Path.Combine(root, "models", look.Name, ModelArtifact.DefaultFileName);

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
            var perProductBatches = mixed.Chunk(batchFrames * models.Length).ToArray();
            var single = Enumerable.Range(0, frames).Select(_ => (Model: models[0], Prepared: FramePreparation.Prepare(generators[0].Good(rng), size))).Chunk(batchFrames).ToArray();

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
            var viewsPerBatch = batchFrames * models[0].TestViews.Count;
            double[] SharedPerProductBatch() => perProductBatches.SelectMany(batch => SharedBackbonePass.Score(batch, maxViewsPerPass: viewsPerBatch)).ToArray();
            double[] OneProduct() => single.SelectMany(batch => SharedBackbonePass.Score(batch)).ToArray();

            // Warm-up: first-call allocations and kernel selection, for every way.
            Naive();
            var shared = Shared();
            SharedPerProductBatch();
            OneProduct();
            var naiveTimes = new List<double>();
            var sharedTimes = new List<double>();
            var perProductTimes = new List<double>();
            var oneProductTimes = new List<double>();
            var maxDifference = 0.0;
            double MsPerFrame(Func<double[]> way, out double[] scores)
            {
                var clock = Stopwatch.StartNew();
                scores = way();
                return clock.Elapsed.TotalMilliseconds / frames;
            }
            for (var round = 0; round < rounds; round++)
            {
                token.ThrowIfCancellationRequested();
                oneProductTimes.Add(MsPerFrame(OneProduct, out _));
                naiveTimes.Add(MsPerFrame(Naive, out var naive));
                sharedTimes.Add(MsPerFrame(Shared, out shared));
                perProductTimes.Add(MsPerFrame(SharedPerProductBatch, out var perProduct));
                maxDifference = Math.Max(maxDifference, naive.Zip(shared, (a, b) => Math.Abs(a - b)).Concat(naive.Zip(perProduct, (a, b) => Math.Abs(a - b))).Max());
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"round {round + 1}, ms per frame: one product {oneProductTimes[^1]:0.0}; mixed: one pass per product {naiveTimes[^1]:0.0}, shared pass {sharedTimes[^1]:0.0}, shared pass with {batchFrames} frames of each product {perProductTimes[^1]:0.0}"));
            }
            var (naiveMs, sharedMs) = (Median(naiveTimes), Median(sharedTimes));
            return new SharedPassFigures(frames, batchFrames, rounds, naiveMs, sharedMs, (naiveMs - sharedMs) / naiveMs * 100, maxDifference,
                Median(oneProductTimes), Median(perProductTimes));
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
        Console.WriteLine(string.Create(invariant, $"scoring step, one product in batches of {p.BatchFrames}: {p.OneProductMsPerFrame:0.0} ms per frame; mixed batches with {p.BatchFrames} frames of each product, shared pass: {p.SharedPerProductBatchMsPerFrame:0.0} ms per frame"));
        Console.WriteLine($"load average before {result.LoadAverageBefore}, after {result.LoadAverageAfter}");
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
