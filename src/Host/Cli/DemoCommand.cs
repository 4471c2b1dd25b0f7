using System.CommandLine;
using System.Diagnostics;
using Pipeline.Host.Demo;
using Pipeline.Scoring;
using Pipeline.Shared.Model;
using Pipeline.Shared.Products;
using Pipeline.Simulation;
using Pipeline.Training;

namespace Pipeline.Host.Cli;

/// <summary>
/// <c>pipeline demo</c>: the embedded default, with nothing to set up. Trains a model on generated good parts (or a
/// <c>--data</c> folder), then runs the whole streaming product in this process (<see cref="StreamingDemo"/>):
/// mock Kafka, a node with every role, cameras streaming good, defective and a few corrupt frames, anomalies printed
/// as they arrive, and a summary at the end. With <c>--refit-after M</c> the good frames carry a <c>label</c> header, and
/// the training role refits the flow after M of them and hot-swaps the new version mid-stream. The node serves the
/// operator console (docs/console.md) and the demo prints its login links; <c>--stay</c> keeps it running after the summary.
/// With <c>--products N</c> (N ≥ 2) it generates N kinds of parts (<see cref="PartLook.Products"/>), trains one flow per
/// product, maps the cameras to products and streams their frames mixed; <c>--refit-after M</c> then refits every product.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var frames = new Option<int>("--frames") { Description = "frames the cameras send, a few corrupt ones included", DefaultValueFactory = _ => 100 };
        var rate = new Option<double>("--rate") { Description = "frames per second the cameras send together (0 = as fast as possible)", DefaultValueFactory = _ => 5 };
        var cameras = new Option<int>("--cameras") { Description = "cameras sending in turn", DefaultValueFactory = _ => 3 };
        var corruptEvery = new Option<int>("--corrupt-every") { Description = "every n-th frame is a corrupt image (0 = none)", DefaultValueFactory = _ => 40 };
        var data = new Option<string?>("--data") { Description = "train on and stream the test images of this folder (MVTec AD layout) instead of generated parts" };
        var output = new Option<string?>("--out") { Description = "keep the generated parts and the model here (default: a temporary folder, removed afterwards)" };
        var size = new Option<int>("--image-size") { Description = "side of the generated images and of the model's input", DefaultValueFactory = _ => 128 };
        var seed = new Option<int>("--seed") { Description = "seed for the generated parts and the order of the frames", DefaultValueFactory = _ => 1 };
        var json = new Option<string?>("--json") { Description = "also write the summary as JSON to this file" };
        var bare = new Option<bool>("--measure-bare-model") { Description = "also time the model alone on the same frames and batch size, to compare with the pipeline" };
        var cpuWorkers = new Option<int?>("--cpu-workers") { Description = "scoring actors on the CPU (Pipeline:Scoring:CpuWorkers)" };
        var cpuThreads = new Option<int?>("--cpu-threads") { Description = "CPU threads split over the scoring actors (Pipeline:Scoring:CpuThreads)" };
        var batchViews = new Option<int?>("--max-batch-views") { Description = "most views in one scoring batch (Pipeline:Scoring:MaxBatchViews)" };
        var refitAfter = new Option<int?>("--refit-after") { Description = "continuous learning: label the good frames, refit the flow after this many of them and swap the new version in mid-stream (at least 10)" };
        var consolePort = new Option<int>("--console-port") { Description = "serve the operator console on this port of 127.0.0.1 (0 = a free one)", DefaultValueFactory = _ => 0 };
        var stay = new Option<bool>("--stay") { Description = "after the summary, keep the node and its console running until Ctrl+C or SIGTERM" };
        var productCount = new Option<int>("--products")
        {
            Description = $"kinds of parts on the lines (1 to {PartLook.Products.Count}): each gets its own generated parts, flow and cameras, and their frames stream mixed (1 = the default product alone)",
            DefaultValueFactory = _ => 1,
        };
        var anomalyMaps = new Option<string?>("--anomaly-maps") { Description = "which frames get an anomaly map: anomalous (default), all or off (Pipeline:Scoring:AnomalyMaps)" };
        var common = new CommonOptions();
        var command = new Command("demo", "Run the whole product in this process: train on good parts, stream camera frames through mock Kafka and a node with every role, print anomalies live and a summary.")
        {
            frames, rate, cameras, corruptEvery, data, output, size, seed, json, bare, cpuWorkers, cpuThreads, batchViews, refitAfter, anomalyMaps, consolePort, stay, productCount,
        };
        common.AddTo(command);
        command.SetAction((parse, cancellation) => CommandRunner.RunAsync(async token =>
        {
            var keep = parse.GetValue(output);
            var root = keep ?? Directory.CreateTempSubdirectory("pipeline-demo-").FullName;
            try
            {
                var clock = Stopwatch.StartNew();
                var progress = ConsoleProgress.ToStandardError();
                var imageSize = parse.GetValue(size);
                var dataFolder = parse.GetValue(data);
                var count = parse.GetValue(productCount);
                if (count < 1 || count > PartLook.Products.Count)
                    throw new Shared.PipelineInputException($"--products is {count}; use 1 to {PartLook.Products.Count} (the demo has {PartLook.Products.Count} kinds of parts: {string.Join(", ", PartLook.Products.Select(look => look.Name))}).");
                if (count > 1 && dataFolder is not null)
                    throw new Shared.PipelineInputException($"--data streams one data set as the default product; --products {count} generates the parts of each product. Use one of them.");
                PartLook[] looks = count == 1 ? [PartLook.Steel with { Name = ProductName.Default }] : PartLook.Products.Take(count).ToArray();
                var dataFolders = new List<string>();
                if (dataFolder is not null) dataFolders.Add(dataFolder);
                else
                {
                    foreach (var (look, index) in looks.Select((look, index) => (look, index)))
                    {
                        var folder = count == 1 ? Path.Combine(root, "parts") : Path.Combine(root, "parts", look.Name);
                        SyntheticParts.WriteMvtecFolder(folder, trainGood: 60, testGood: 30, testPerDefect: 15, imageSize, parse.GetValue(seed) + index, look);
                        dataFolders.Add(folder);
                        progress.Note(count == 1
                            ? $"generated parts in {folder}: 60 good to train on; 30 good and 15 each with a scratch, a hole or a stain for the cameras"
                            : $"generated {look.Name} parts in {folder}: 60 good to train on; 30 good and 15 each with a " +
                              $"{string.Join(" or a ", look.Defects.Select(kind => kind.ToString().ToLowerInvariant()))} for the cameras");
                    }
                }

                var training = TrainingOptions.Cpu with
                {
                    ImageSize = imageSize, TrainViews = 8, TestViews = 8, Epochs = 25, HiddenWidth = 128, CouplingBlocks = 4,
                };
                var device = common.ResolveDevice(parse);
                var products = new List<DemoProduct>();
                using (var backbone = PretrainedBackbone.Load(device))
                {
                    foreach (var (look, folder) in looks.Zip(dataFolders))
                    {
                        var single = look.Name == ProductName.Default;
                        var outcome = ModelTraining.TrainOnFolder(folder, training, backbone, common.Cache(parse), progress, single ? "demo" : $"demo-{look.Name}", cancellation: token);
                        var modelFile = single ? Path.Combine(root, "model", ModelArtifact.DefaultFileName) : Path.Combine(root, "model", look.Name, ModelArtifact.DefaultFileName);
                        outcome.Artifact.Save(modelFile);
                        products.Add(new DemoProduct(look.Name, folder, modelFile));
                    }
                }

                var defaults = new ScoringOptions();
                var scoring = new ScoringOptions
                {
                    Device = parse.GetValue(common.Device) ?? defaults.Device,
                    CpuWorkers = parse.GetValue(cpuWorkers) ?? defaults.CpuWorkers,
                    CpuThreads = parse.GetValue(cpuThreads) ?? parse.GetValue(common.Threads),
                    MaxBatchViews = parse.GetValue(batchViews) ?? defaults.MaxBatchViews,
                    AnomalyMaps = parse.GetValue(anomalyMaps) ?? defaults.AnomalyMaps,
                };
                if (scoring.Problems() is { Count: > 0 } problems) throw new Shared.PipelineInputException(string.Join(" ", problems));
                var options = new StreamingDemoOptions
                {
                    Frames = parse.GetValue(frames),
                    FramesPerSecond = parse.GetValue(rate),
                    Cameras = parse.GetValue(cameras),
                    CorruptEvery = parse.GetValue(corruptEvery),
                    Seed = parse.GetValue(seed),
                    MeasureBareModel = parse.GetValue(bare),
                    Scoring = scoring,
                    RefitAfter = parse.GetValue(refitAfter),
                    WorkFolder = root,
                    ConsolePort = parse.GetValue(consolePort),
                };
                void Print(StreamingDemoSummary summary)
                {
                    Console.WriteLine();
                    Console.WriteLine(summary);
                    if (parse.GetValue(json) is { } jsonPath) summary.WriteJson(jsonPath);
                }
                if (parse.GetValue(stay))
                {
                    options = options with
                    {
                        WhileServing = async (summary, stop) =>
                        {
                            Print(summary);
                            Console.WriteLine("the node and its console keep running; Ctrl+C or SIGTERM stops them");
                            try
                            {
                                await Task.Delay(Timeout.Infinite, stop);
                            }
                            catch (OperationCanceledException)
                            {
                            }
                        },
                    };
                }
                var summary = await StreamingDemo.RunAsync(products, options, line => Console.WriteLine(line), token);
                if (options.WhileServing is null) Print(summary);
                if (keep is not null) Console.WriteLine(count == 1 ? $"model in {Path.GetDirectoryName(products[0].ModelFile)}" : $"models in {Path.Combine(root, "model")}");
                Console.WriteLine($"demo finished in {clock.Elapsed.TotalSeconds:0} s");
                if (summary.Complete) return CommandRunner.Success;
                Console.Error.WriteLine($"error: {summary.FramesSent - summary.DistinctFrameIds - summary.DeadLettered} of {summary.FramesSent} frames have no outcome.");
                return CommandRunner.UnexpectedFailure;
            }
            finally
            {
                if (keep is null) Directory.Delete(root, recursive: true);
            }
        }, cancellation));
        return command;
    }
}
