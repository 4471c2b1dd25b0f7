using TorchSharp;
using System.Diagnostics;
using Pipeline.Shared;
using Pipeline.Shared.Data;
using Pipeline.Shared.Evaluation;
using Pipeline.Shared.Features;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Model;
using Pipeline.Shared.Progress;
using static TorchSharp.torch;

namespace Pipeline.Training;

/// <summary>A trained model and how its training went.</summary>
public sealed record TrainingOutcome(
    ModelArtifact Artifact,
    FlowFitHistory History,
    IReadOnlyList<double> CalibrationScores,
    double FeatureSeconds);

/// <summary>
/// Trains a defect model from known-good images: features of augmented views (cached), a flow fitted to
/// them, and a threshold calibrated on good images held back from training.
/// </summary>
public static class ModelTraining
{
    /// <summary>Trains on <c>train/good</c> of a folder in MVTec AD layout.</summary>
    /// <param name="testAurocEveryEpochs">
    /// 0: off. N: after every N epochs (and the last) the AUROC on the folder's <c>test/</c> images is written to
    /// <paramref name="progress"/>, to see how many epochs and which learning rate a kind of part needs. The test
    /// images never influence the model: they are only scored.
    /// </param>
    public static TrainingOutcome TrainOnFolder(
        string dataFolder,
        TrainingOptions options,
        PretrainedBackbone backbone,
        ViewFeatureCache? cache,
        IWorkProgressSink progress,
        string modelVersion,
        int testAurocEveryEpochs = 0,
        CancellationToken cancellation = default)
    {
        options.Validated();
        if (testAurocEveryEpochs < 0) throw new PipelineInputException($"The AUROC can be reported every N epochs for N ≥ 1 (0 = never), got {testAurocEveryEpochs}.");
        var dataset = MvtecDataset.Open(dataFolder);
        dataset.RequireTrainingImages();
        if (testAurocEveryEpochs > 0) dataset.RequireTestImages();
        var goodImages = dataset.TrainGoodImages;
        var (training, calibration) = SplitForCalibration(goodImages, options, dataFolder);
        progress.Note($"{goodImages.Count} good images in {Path.Combine(dataFolder, "train", "good")}: {training.Count} to train on, {calibration.Count} held back to calibrate the threshold");

        var extractor = new ViewFeatureExtractor(backbone, options.ImageSize, cache);
        var featureClock = Stopwatch.StartNew();
        var trainingFeatures = extractor.ExtractFiles(training,
            contentSha => InspectionViews.ForTraining(options.TrainViews, options.Augmentation, ViewRandom(contentSha, options.Seed)),
            progress, "features (training views)", cancellation);
        var testViews = InspectionViews.ForTesting(options.TestViews, options.Augmentation.Rotations);
        var calibrationFeatures = extractor.ExtractFiles(calibration, _ => testViews, progress, "features (calibration views)", cancellation);
        var testFeatures = testAurocEveryEpochs > 0
            ? extractor.ExtractFiles(dataset.TestImages.Select(i => i.Path).ToArray(), _ => testViews, progress, "features (test views, to report the AUROC)", cancellation)
            : null;
        var featureSeconds = featureClock.Elapsed.TotalSeconds;

        manual_seed(options.Seed);
        using var flow = new CouplingFlow(options.Flow);
        flow.to(backbone.Device);
        using var featureTensor = Stack(trainingFeatures, extractor.FeatureSize);
        progress.Note($"fitting the flow ({options.CouplingBlocks} coupling blocks, hidden width {options.HiddenWidth}) to {featureTensor.shape[0]} feature vectors for {options.Epochs} epochs, Adam learning rate {options.LearningRate:g3} {options.LearningRateSchedule.ToString().ToLowerInvariant()}");
        Action<int>? reportTestAuroc = testFeatures is null ? null : epoch =>
        {
            if (epoch % testAurocEveryEpochs != 0 && epoch != options.Epochs) return;
            var scores = FlowScoring.Score(flow, testFeatures, testViews.Count, backbone.Device);
            progress.Note($"epoch {epoch}/{options.Epochs}: {TestAurocText(dataset.TestImages, scores, options.FalseAlarmRate)}");
        };
        var history = FlowTrainer.Fit(flow, featureTensor, options, progress, reportTestAuroc, cancellation);

        var calibrationScores = FlowScoring.Score(flow, calibrationFeatures, testViews.Count, backbone.Device);
        var threshold = ThresholdCalibration.AtFalseAlarmRate(calibrationScores, options.FalseAlarmRate);
        progress.Note($"threshold {threshold:0.0000}: flags {options.FalseAlarmRate:P1} of the {calibration.Count} held-back good images");

        var mapCalibration = CalibrateRegionLevel(calibration, extractor, flow, testViews, options, progress, cancellation);

        var manifest = new ModelManifest
        {
            ModelVersion = modelVersion,
            CreatedAt = DateTimeOffset.UtcNow,
            BackboneSha256 = backbone.Sha256,
            ImageSize = options.ImageSize,
            TestViews = testViews.Count,
            Rotations = options.Augmentation.Rotations,
            Flow = flow.Config,
            Threshold = threshold,
            FalseAlarmRate = options.FalseAlarmRate,
            Training = new TrainingSummary(Path.GetFullPath(dataFolder), training.Count, calibration.Count,
                options.TrainViews, options.Epochs, history.FinalLoss, history.Seconds),
            AnomalyMaps = mapCalibration,
        };
        return new TrainingOutcome(ModelArtifact.Create(manifest, WeightsOf(flow)), history, calibrationScores, featureSeconds);
    }

    /// <summary>
    /// A freshly initialised (untrained) flow of shape <paramref name="flow"/> as an artifact, for benchmarks that measure
    /// moving, loading and refitting models rather than what they learned.
    /// </summary>
    public static ModelArtifact UntrainedArtifact(string version, FlowConfig flow, string backboneSha256, int imageSize, int testViews, int seed, double threshold)
    {
        manual_seed(seed);
        using var module = new CouplingFlow(flow);
        return ModelArtifact.Create(new ModelManifest
        {
            ModelVersion = version,
            CreatedAt = DateTimeOffset.UtcNow,
            BackboneSha256 = backboneSha256,
            ImageSize = imageSize,
            TestViews = testViews,
            Rotations = true,
            Flow = module.Config,
            Threshold = threshold,
            FalseAlarmRate = TrainingOptions.Cpu.FalseAlarmRate,
        }, WeightsOf(module));
    }

    /// <summary>The flow's state dict as bytes (the artifact's weights section).</summary>
    public static byte[] WeightsOf(CouplingFlow flow)
    {
        using var stream = new MemoryStream();
        flow.save(stream);
        return stream.ToArray();
    }

    /// <summary>Features held per image (<c>float[V·D]</c>) as one tensor <c>[ΣV, D]</c>.</summary>
    public static Tensor Stack(IReadOnlyList<float[]> perImage, int featureSize)
    {
        var flat = new float[perImage.Sum(f => (long)f.Length)];
        var offset = 0;
        foreach (var f in perImage) { f.CopyTo(flat, offset); offset += f.Length; }
        return tensor(flat, [flat.Length / featureSize, featureSize]);
    }

    /// <summary>"test AUROC 97.2 % (blowhole 96.3 %, break 95.9 %, ...)": overall and per defect type, as <c>eval</c> computes them.</summary>
    private static string TestAurocText(IReadOnlyList<LabelledImage> images, IReadOnlyList<double> scores, double falseAlarmRate)
    {
        // Only the AUROC figures are read, which do not depend on a threshold; the model's is not calibrated yet.
        var result = EvaluationResult.FromScores(images.Select((image, i) => new ScoredImage(image.Path, image.DefectType, scores[i])).ToArray(),
            threshold: 0, falseAlarmRate);
        var perType = result.AurocPerDefect.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {EvaluationNumberFormat.Percent(p.Value)}");
        return $"test AUROC {EvaluationNumberFormat.Percent(result.Auroc)} ({string.Join(", ", perType)})";
    }

    /// <summary>
    /// The region level of the anomaly maps, calibrated like the threshold: the peaks of the maps of the held-back good
    /// images, at the false-alarm rate (see <see cref="AnomalyMapCalibration"/>).
    /// </summary>
    private static AnomalyMapCalibration CalibrateRegionLevel(
        IReadOnlyList<string> calibration, ViewFeatureExtractor extractor, CouplingFlow flow, IReadOnlyList<ViewTransform> testViews,
        TrainingOptions options, IWorkProgressSink progress, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var peaks = new double[calibration.Count];
        flow.eval();
        for (var i = 0; i < calibration.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var prepared = extractor.Prepare(ImageDecoder.Decode(File.ReadAllBytes(calibration[i]), calibration[i]));
            peaks[i] = GradientMap.Compute(extractor.Pyramid, flow, testViews, prepared, extractor.Device, options.MapSigma).Map.Peak;
            progress.Report(new WorkProgress("anomaly maps (calibration images)", i + 1, calibration.Count));
        }
        var level = ThresholdCalibration.AtFalseAlarmRate(peaks, options.FalseAlarmRate);
        progress.Note($"region level {level:g4}: the anomaly maps of {options.FalseAlarmRate:P1} of the {calibration.Count} held-back good images reach above it ({clock.Elapsed.TotalSeconds:0.0} s, σ {options.MapSigma:0.##} px)");
        return new AnomalyMapCalibration(options.MapSigma, level, calibration.Count);
    }

    /// <summary>Random views of an image depend only on its content and the seed, so cached features stay valid.</summary>
    private static Random ViewRandom(string contentSha, int seed) =>
        new(unchecked(Convert.ToInt32(contentSha[..8], 16) * 31 + seed));

    private static (IReadOnlyList<string> Training, IReadOnlyList<string> Calibration) SplitForCalibration(
        IReadOnlyList<string> goodImages, TrainingOptions options, string dataFolder)
    {
        if (goodImages.Count < 3)
            throw new PipelineInputException($"'{Path.Combine(dataFolder, "train", "good")}' has {goodImages.Count} image(s); training needs at least 3 (some are held back to calibrate the threshold).");
        var calibrationCount = Math.Clamp((int)Math.Round(goodImages.Count * options.CalibrationFraction), 1, goodImages.Count - 2);
        var shuffled = goodImages.ToArray();
        new Random(options.Seed).Shuffle(shuffled);
        var calibration = shuffled.Take(calibrationCount).Order(StringComparer.Ordinal).ToArray();
        var training = shuffled.Skip(calibrationCount).Order(StringComparer.Ordinal).ToArray();
        return (training, calibration);
    }
}
