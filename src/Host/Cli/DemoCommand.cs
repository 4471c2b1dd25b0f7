using System.CommandLine;
using System.Diagnostics;
using Pipeline.Host.Demo;
using Pipeline.Scoring;
using Pipeline.Shared.Model;
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
        var anomalyMaps = new Option<string?>("--anomaly-maps") { Description = "which frames get an anomaly map: anomalous (default), all or off (Pipeline:Scoring:AnomalyMaps)" };
        var common = new CommonOptions();
        var command = new Command("demo", "Run the whole product in this process: train on good parts, stream camera frames through mock Kafka and a node with every role, print anomalies live and a summary.")
        {
            frames, rate, cameras, corruptEvery, data, output, size, seed, json, bare, cpuWorkers, cpuThreads, batchViews, refitAfter, anomalyMaps, consolePort, stay,
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
                if (dataFolder is null)
                {
                    dataFolder = Path.Combine(root, "parts");
                    SyntheticParts.WriteMvtecFolder(dataFolder, trainGood: 60, testGood: 30, testPerDefect: 15, imageSize, parse.GetValue(seed));
                    progress.Note($"generated parts in {dataFolder}: 60 good to train on; 30 good and 15 each with a scratch, a hole or a stain for the cameras");
                }

                var training = TrainingOptions.Cpu with
                {
                    ImageSize = imageSize, TrainViews = 8, TestViews = 8, Epochs = 25, HiddenWidth = 128, CouplingBlocks = 4,
                };
                var device = common.ResolveDevice(parse);
                string modelFile;
                using (var backbone = PretrainedBackbone.Load(device))
                {
                    var outcome = ModelTraining.TrainOnFolder(dataFolder, training, backbone, common.Cache(parse), progress, "demo", cancellation: token);
                    modelFile = Path.Combine(root, "model", ModelArtifact.DefaultFileName);
                    outcome.Artifact.Save(modelFile);
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
                var summary = await StreamingDemo.RunAsync(dataFolder, modelFile, options, line => Console.WriteLine(line), token);
                if (options.WhileServing is null) Print(summary);
                if (keep is not null) Console.WriteLine($"model in {Path.GetDirectoryName(modelFile)}");
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
