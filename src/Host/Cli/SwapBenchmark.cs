using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Pipeline.Host.Demo;
using Pipeline.Shared.Model;
using Pipeline.Simulation;
using Pipeline.Training;
using static TorchSharp.torch;

namespace Pipeline.Host.Cli;

/// <summary>
/// <c>pipeline benchmark swap</c>: a hot swap of a model of real size under a stream of frames. Runs the streaming demo
/// (mock Kafka, a node with every role) serving a flow of the given shape, publishes a second flow of the same shape to
/// the registry mid-stream, and reports the longest gap in the results stream at the swap and the process's memory
/// before and during it. Both flows are freshly initialised (their scores mean nothing): what is measured is the
/// transfer, the load beside the serving model and the swap, which do not depend on what the weights learned.
/// </summary>
public static class SwapBenchmark
{
    public static Command Create()
    {
        var hiddenWidth = new Option<int>("--hidden-width") { Description = "flow hidden width (DifferNet: 2048)", DefaultValueFactory = _ => 2048 };
        var blocks = new Option<int>("--coupling-blocks") { Description = "coupling blocks (DifferNet: 8)", DefaultValueFactory = _ => 8 };
        var imageSize = new Option<int>("--image-size") { Description = "side of the frames and the model's input", DefaultValueFactory = _ => 128 };
        var views = new Option<int>("--test-views") { Description = "test views per frame", DefaultValueFactory = _ => 8 };
        var frames = new Option<int>("--frames") { Description = "frames the cameras send", DefaultValueFactory = _ => 80 };
        var rate = new Option<double>("--rate") { Description = "frames per second", DefaultValueFactory = _ => 4 };
        var after = new Option<int>("--swap-after") { Description = "publish the second model once this many frames have results", DefaultValueFactory = _ => 20 };
        var json = new Option<string?>("--json") { Description = "also write the summary as JSON to this file" };
        var scoringNode = new Option<string>("--scoring-node")
        {
            Description = "same: one node with every role; separate: scoring in a node of its own (a child process), whose memory is reported apart",
            DefaultValueFactory = _ => "same",
        };
        scoringNode.AcceptOnlyFromAmong("same", "separate");
        var command = new Command("swap", "Time a hot swap of a model of real size under a stream of frames: the gap in the results and the memory.")
        {
            hiddenWidth, blocks, imageSize, views, frames, rate, after, json, scoringNode,
        };
        command.SetAction((parse, cancellation) => CommandRunner.RunAsync(async token =>
        {
            var root = Directory.CreateTempSubdirectory("pipeline-swap-benchmark-").FullName;
            try
            {
                var size = parse.GetValue(imageSize);
                var data = Path.Combine(root, "parts");
                SyntheticParts.WriteMvtecFolder(data, trainGood: 3, testGood: 20, testPerDefect: 4, size, seed: 1);
                string backboneSha;
                using (var backbone = PretrainedBackbone.Load(CPU)) backboneSha = backbone.Sha256;
                var flow = (TrainingOptions.Cpu with { HiddenWidth = parse.GetValue(hiddenWidth), CouplingBlocks = parse.GetValue(blocks) }).Flow;
                var serving = UntrainedArtifacts.Save(Path.Combine(root, "serving.dnfm"), "serving", flow, backboneSha, size, parse.GetValue(views), seed: 1);
                var next = UntrainedArtifacts.Save(Path.Combine(root, "next.dnfm"), "next", flow, backboneSha, size, parse.GetValue(views), seed: 2);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"flow: {flow.CouplingBlocks} blocks of width {flow.HiddenWidth}; artifact {new FileInfo(next).Length / 1e6:0} MB; {size} px, {parse.GetValue(views)} views"));

                var clock = Stopwatch.StartNew();
                var summary = await StreamingDemo.RunAsync(data, serving, new StreamingDemoOptions
                {
                    Frames = parse.GetValue(frames),
                    FramesPerSecond = parse.GetValue(rate),
                    CorruptEvery = 0,
                    PublishMidStream = new ScheduledPublish(next, parse.GetValue(after)),
                    SeparateScoringNode = parse.GetValue(scoringNode) == "separate",
                    WorkFolder = root,
                }, line => { if (!line.StartsWith("ANOMALY", StringComparison.Ordinal)) Console.WriteLine(line); }, token);
                Console.WriteLine();
                Console.WriteLine(summary);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak memory before the swap {summary.PeakWorkingSetBeforeSwapMb:0} MB, during the run {summary.PeakWorkingSetMb:0} MB; {clock.Elapsed.TotalSeconds:0} s"));
                if (parse.GetValue(json) is { } path) summary.WriteJson(path);
                return summary.Complete && summary.ModelVersions.Count == 2 ? CommandRunner.Success : CommandRunner.UnexpectedFailure;
            }
            finally
            {
                Directory.Delete(root, recursive: true);
            }
        }, cancellation));
        return command;
    }
}
