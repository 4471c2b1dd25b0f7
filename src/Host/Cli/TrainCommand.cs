using System.CommandLine;
using Pipeline.Shared;
using Pipeline.Shared.Model;
using Pipeline.Training;

namespace Pipeline.Host.Cli;

/// <summary><c>pipeline train --data &lt;folder&gt; --out &lt;model dir&gt;</c>: trains a model on known-good images.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "category folder in MVTec AD layout (train/good is used)", Required = true };
        var output = new Option<string>("--out") { Description = "model directory to write (model.dnfm inside)", Required = true };
        var preset = new Option<string>("--preset") { Description = "starting configuration: cpu (default, fast on a CPU) or paper (DifferNet's settings, for GPUs)", DefaultValueFactory = _ => "cpu" };
        preset.AcceptOnlyFromAmong([.. TrainingOptions.Presets.Keys]);
        var imageSize = new Option<int?>("--image-size") { Description = "side of the square input image S (features at S, S/2, S/4)" };
        var trainViews = new Option<int?>("--train-views") { Description = "augmented views per training image" };
        var testViews = new Option<int?>("--test-views") { Description = "evenly spaced rotations per image when scoring" };
        var epochs = new Option<int?>("--epochs") { Description = "passes over the cached training features" };
        var batchSize = new Option<int?>("--batch-size") { Description = "feature vectors per optimisation step" };
        var hiddenWidth = new Option<int?>("--hidden-width") { Description = "units in the hidden layers of each coupling subnet (DifferNet: 2048)" };
        var blocks = new Option<int?>("--coupling-blocks") { Description = "coupling blocks in the flow (DifferNet: 8)" };
        var dropout = new Option<double?>("--dropout") { Description = "dropout in the coupling subnets" };
        var learningRate = new Option<double?>("--lr") { Description = "Adam learning rate; with --lr-schedule cosine the rate of the first step (DifferNet: 2e-4, constant)" };
        var learningRateSchedule = new Option<LearningRateSchedule?>("--lr-schedule") { Description = "constant, or cosine (down to 0 over the fit)" };
        var noRotations = new Option<bool>("--no-rotations") { Description = "no rotated views (for parts where rotation is itself a defect)" };
        var brightness = new Option<double?>("--brightness") { Description = "colour jitter: brightness factor range ±b (0 = off)" };
        var contrast = new Option<double?>("--contrast") { Description = "colour jitter: contrast factor range ±c (0 = off)" };
        var saturation = new Option<double?>("--saturation") { Description = "colour jitter: saturation factor range ±s (0 = off)" };
        var falseAlarmRate = new Option<double?>("--false-alarm-rate") { Description = "share of good parts the threshold may flag (default 0.05)" };
        var calibrationFraction = new Option<double?>("--calibration-fraction") { Description = "share of good images held back to calibrate the threshold (default 0.1)" };
        var mapSigma = new Option<double?>("--map-sigma") { Description = "blur of the anomaly maps, σ in pixels of the prepared image (default 3, as DifferNet); the region level is calibrated for it" };
        var seed = new Option<int?>("--seed") { Description = "seed for views, initialisation and shuffling" };
        var version = new Option<string?>("--model-version") { Description = "version name stored in the model (default: UTC time stamp)" };
        var testAurocEvery = new Option<int>("--test-auroc-every")
        {
            Description = "every N epochs (and after the last), print the AUROC on the folder's test/ images: to choose epochs and learning rate for a kind of part (0 = off; the test images are only scored, never trained on)",
            DefaultValueFactory = _ => 0,
        };
        var common = new CommonOptions();

        var command = new Command("train", "Train a defect model on defect-free images.")
        {
            data, output, preset, imageSize, trainViews, testViews, epochs, batchSize, hiddenWidth, blocks, dropout,
            learningRate, learningRateSchedule, noRotations, brightness, contrast, saturation, falseAlarmRate, calibrationFraction, mapSigma, seed, version, testAurocEvery,
        };
        common.AddTo(command);

        command.SetAction((parse, cancellation) => CommandRunner.Run(token =>
        {
            var basis = TrainingOptions.Presets[parse.GetValue(preset)!];
            var options = (basis with
            {
                ImageSize = parse.GetValue(imageSize) ?? basis.ImageSize,
                TrainViews = parse.GetValue(trainViews) ?? basis.TrainViews,
                TestViews = parse.GetValue(testViews) ?? basis.TestViews,
                Epochs = parse.GetValue(epochs) ?? basis.Epochs,
                BatchSize = parse.GetValue(batchSize) ?? basis.BatchSize,
                HiddenWidth = parse.GetValue(hiddenWidth) ?? basis.HiddenWidth,
                CouplingBlocks = parse.GetValue(blocks) ?? basis.CouplingBlocks,
                Dropout = parse.GetValue(dropout) ?? basis.Dropout,
                LearningRate = parse.GetValue(learningRate) ?? basis.LearningRate,
                LearningRateSchedule = parse.GetValue(learningRateSchedule) ?? basis.LearningRateSchedule,
                FalseAlarmRate = parse.GetValue(falseAlarmRate) ?? basis.FalseAlarmRate,
                CalibrationFraction = parse.GetValue(calibrationFraction) ?? basis.CalibrationFraction,
                Seed = parse.GetValue(seed) ?? basis.Seed,
                MapSigma = parse.GetValue(mapSigma) ?? basis.MapSigma,
                Augmentation = basis.Augmentation with
                {
                    Rotations = !parse.GetValue(noRotations) && basis.Augmentation.Rotations,
                    Brightness = parse.GetValue(brightness) ?? basis.Augmentation.Brightness,
                    Contrast = parse.GetValue(contrast) ?? basis.Augmentation.Contrast,
                    Saturation = parse.GetValue(saturation) ?? basis.Augmentation.Saturation,
                },
            }).Validated();

            var outDir = parse.GetValue(output)!;
            if (File.Exists(outDir))
                throw new PipelineInputException($"--out '{outDir}' is a file; give a directory for the model.");
            var progress = ConsoleProgress.ToStandardError();
            var device = common.ResolveDevice(parse);
            using var backbone = PretrainedBackbone.Load(device);
            progress.Note($"backbone: {backbone.Description} on {device}; image size {options.ImageSize}, {options.TrainViews} training views, {options.TestViews} test views");

            var outcome = ModelTraining.TrainOnFolder(parse.GetValue(data)!, options, backbone,
                common.Cache(parse), progress, parse.GetValue(version) ?? DateTime.UtcNow.ToString("yyyyMMdd-HHmmss"),
                parse.GetValue(testAurocEvery), token);

            var path = Path.Combine(outDir, ModelArtifact.DefaultFileName);
            outcome.Artifact.Save(path);
            var manifest = outcome.Artifact.Manifest;
            Console.WriteLine($"model {manifest.ModelVersion} written to {path}");
            Console.WriteLine($"  sha256     {outcome.Artifact.Sha256}");
            Console.WriteLine($"  trained on {manifest.Training!.TrainingImages} images × {options.TrainViews} views, {options.Epochs} epochs, final loss {outcome.History.FinalLoss:0.0000}");
            Console.WriteLine($"  time       features {outcome.FeatureSeconds:0.0} s, flow {outcome.History.Seconds:0.0} s");
            Console.WriteLine($"  threshold  {manifest.Threshold:0.0000} (flags {manifest.FalseAlarmRate:P1} of good parts, calibrated on {manifest.Training.CalibrationImages} held-back images)");
            if (manifest.AnomalyMaps is { } maps)
                Console.WriteLine($"  maps       region level {maps.RegionLevel:g4} (σ {maps.Sigma:0.##} px, calibrated on {maps.CalibrationImages} held-back images)");
            return CommandRunner.Success;
        }, cancellation));
        return command;
    }
}
