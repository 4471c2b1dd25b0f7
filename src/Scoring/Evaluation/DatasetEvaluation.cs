using Pipeline.Shared.Data;
using Pipeline.Shared.Evaluation;
using Pipeline.Shared.Model;
using Pipeline.Shared.Progress;

namespace Pipeline.Scoring.Evaluation;

/// <summary>Scores every test image of a folder in MVTec AD layout with a model and measures detection.</summary>
public static class DatasetEvaluation
{
    /// <summary>
    /// Scores <c>test/good</c> and <c>test/&lt;defect&gt;</c>. The result's threshold is the one this data suggests:
    /// calibrated on its good images to the model's false-alarm rate.
    /// </summary>
    public static EvaluationResult Run(string dataFolder, DefectModel model, IWorkProgressSink progress, CancellationToken cancellation = default)
    {
        var dataset = MvtecDataset.Open(dataFolder);
        dataset.RequireTestImages();
        var images = dataset.TestImages;
        var features = model.Features.ExtractFiles(images.Select(i => i.Path).ToArray(), _ => model.TestViews, progress, "features (test views)", cancellation);
        var scores = model.ScoreFeatures(features);
        var scored = images.Select((image, i) => new ScoredImage(image.Path, image.DefectType, scores[i])).ToArray();
        var goodScores = scored.Where(s => s.DefectType == ScoredImage.Good).Select(s => s.Score).ToArray();
        var suggested = ThresholdCalibration.AtFalseAlarmRate(goodScores, model.Manifest.FalseAlarmRate);
        return EvaluationResult.FromScores(scored, suggested, model.Manifest.FalseAlarmRate);
    }
}
