using System.Diagnostics.Metrics;

namespace Pipeline.Host.Hosting;

/// <summary>
/// The training role's instruments on the meter <see cref="MeterName"/>: refits by the validation gate's outcome
/// (exported as <c>pipeline_training_pipeline_training_refits{outcome="accepted"|"rejected"}</c>).
/// </summary>
internal static class TrainingMetrics
{
    public const string MeterName = "Pipeline.Training";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Refits = Meter.CreateCounter<long>("pipeline.training.refits", "{refit}",
        "Refits by the validation gate's outcome: accepted (published as the new version) or rejected (the serving version stays).");

    public static void RefitFinished(bool accepted) => Refits.Add(1, new KeyValuePair<string, object?>("outcome", accepted ? "accepted" : "rejected"));
}
