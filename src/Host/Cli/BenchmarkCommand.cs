using TorchSharp;
using System.CommandLine;
using System.Diagnostics;
using Pipeline.Shared.Features;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Model;
using Pipeline.Simulation;
using Pipeline.Training;
using static TorchSharp.torch;

namespace Pipeline.Host.Cli;

/// <summary>
/// <c>pipeline benchmark</c>: measures the model's own speed on this machine, apart from any data set:
/// backbone time per view, scoring time per image (features of all test views + flow), and flow training
/// throughput, with the process's peak memory. The figures in docs/benchmarks.md come from here.
/// <c>pipeline benchmark refit</c> (<see cref="RefitBenchmark"/>) times a refit on stored features;
/// <c>pipeline benchmark products</c> (<see cref="ProductsBenchmark"/>) what several products cost on one node.
/// </summary>
public static class BenchmarkCommand
{
    public static Command Create()
    {
        var imageSize = new Option<int>("--image-size") { Description = "side S of the square input image", DefaultValueFactory = _ => 224 };
        var testViews = new Option<int>("--test-views") { Description = "rotations per scored image", DefaultValueFactory = _ => 16 };
        var images = new Option<int>("--images") { Description = "images to score (after one warm-up image)", DefaultValueFactory = _ => 8 };
        var hiddenWidth = new Option<int>("--hidden-width") { Description = "flow hidden width", DefaultValueFactory = _ => TrainingOptions.Cpu.HiddenWidth };
        var trainSteps = new Option<int>("--train-steps") { Description = "flow optimisation steps to time (0 = skip)", DefaultValueFactory = _ => 5 };
        var batchSize = new Option<int>("--batch-size") { Description = "feature vectors per training step", DefaultValueFactory = _ => TrainingOptions.Cpu.BatchSize };
        var maps = new Option<int>("--maps") { Description = "anomaly maps to time, one image at a time (after one warm-up; 0 = skip)", DefaultValueFactory = _ => 0 };
        var common = new CommonOptions();
        var command = new Command("benchmark", "Measure scoring, anomaly-map and flow-training speed and peak memory on this machine.")
        {
            imageSize, testViews, images, hiddenWidth, trainSteps, batchSize, maps,
        };
        common.AddTo(command);
        command.Add(RefitBenchmark.Create());
        command.Add(SwapBenchmark.Create());
        command.Add(ProductsBenchmark.Create());
        command.SetAction((parse, cancellation) => CommandRunner.Run(token =>
        {
            var device = common.ResolveDevice(parse);
            var size = parse.GetValue(imageSize);
            var views = InspectionViews.ForTesting(parse.GetValue(testViews), rotations: true);
            var options = TrainingOptions.Cpu with { HiddenWidth = parse.GetValue(hiddenWidth), BatchSize = parse.GetValue(batchSize), ImageSize = size };
            using var backbone = PretrainedBackbone.Load(device);
            var extractor = new ViewFeatureExtractor(backbone, size, cache: null);
            manual_seed(1);
            using var flow = new CouplingFlow(options.Flow);
            flow.to(device);
            flow.eval();

            var parts = new SyntheticParts(size);
            var rng = new Random(1);
            var count = parse.GetValue(images);
            var samples = Enumerable.Range(0, count + 1).Select(_ => parts.Good(rng)).ToArray();
            Console.WriteLine($"device {device}, torch threads {get_num_threads()}, image {size}×{size}, {views.Count} test views, flow hidden width {options.HiddenWidth} ({flow.parameters().Sum(p => p.numel()) / 1e6:0.0} M parameters)");

            double ScoreOne(RgbImage image)
            {
                using var scope = NewDisposeScope();
                using var features = extractor.Extract(image, views);
                return FlowScoring.Score(flow, [features.cpu().data<float>().ToArray()], views.Count, device)[0];
            }

            ScoreOne(samples[0]); // warm-up: first-call allocations and kernel selection
            var perImage = new List<double>();
            foreach (var image in samples.Skip(1))
            {
                token.ThrowIfCancellationRequested();
                var clock = Stopwatch.StartNew();
                ScoreOne(image);
                perImage.Add(clock.Elapsed.TotalMilliseconds);
            }
            perImage.Sort();
            Console.WriteLine($"scoring: {perImage.Average():0} ms per image ({perImage.Average() / views.Count:0.0} ms per view), median {perImage[perImage.Count / 2]:0} ms, min {perImage[0]:0} ms, max {perImage[^1]:0} ms over {count} images");

            if (parse.GetValue(maps) is var mapCount and > 0)
            {
                var mapImages = Enumerable.Range(0, mapCount + 1).Select(_ => SyntheticParts.WithDefect(parts.Good(rng), rng, DefectKind.Hole)).ToArray();
                GradientMap.Compute(backbone.Pyramid, flow, views, mapImages[0], device, GradientMap.DefaultSigma); // warm-up
                var perMap = new List<double>();
                foreach (var image in mapImages.Skip(1))
                {
                    token.ThrowIfCancellationRequested();
                    var clock = Stopwatch.StartNew();
                    GradientMap.Compute(backbone.Pyramid, flow, views, image, device, GradientMap.DefaultSigma);
                    perMap.Add(clock.Elapsed.TotalMilliseconds);
                }
                perMap.Sort();
                Console.WriteLine($"anomaly maps: {perMap.Average():0} ms per image ({perMap.Average() / perImage.Average():0.0}× scoring), median {perMap[perMap.Count / 2]:0} ms, min {perMap[0]:0} ms, max {perMap[^1]:0} ms over {mapCount} images");
            }

            var steps = parse.GetValue(trainSteps);
            if (steps > 0)
            {
                using var data = randn(options.BatchSize * 4, FeaturePyramid.FeatureSize);
                var clock = Stopwatch.StartNew();
                FlowTrainer.Fit(flow, data, options with { Epochs = steps }, Shared.Progress.SilentProgress.Instance, cancellation: token);
                var perVector = clock.Elapsed.TotalMilliseconds / (steps * data.shape[0]);
                Console.WriteLine($"flow training: {1000 / perVector:0} feature vectors per second ({perVector * options.BatchSize:0} ms per step of {options.BatchSize})");
            }
            Console.WriteLine($"peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024):0} MiB");
            return CommandRunner.Success;
        }, cancellation));
        return command;
    }
}
