using System.Diagnostics.Metrics;

namespace Pipeline.Training;

/// <summary>
/// The training role's instruments on the meter <see cref="MeterName"/>, each tagged with its <c>product</c>:
/// <list type="bullet">
/// <item>refits by the validation gate's outcome, exported as
/// <c>pipeline_training_refits{outcome="accepted"|"rejected",product="…"}</c>;</item>
/// <item>samples offered to a product's sample store by what the store did with them, exported as
/// <c>pipeline_training_samples{outcome="stored"|"passed"|"refused",product="…"}</c> (stored: kept in
/// its reservoir; passed: counted, but the full reservoir kept its samples; refused: of another shape).</item>
/// </list>
/// </summary>
public static class TrainingMetrics
{
    public const string MeterName = "Pipeline.Training";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Refits = Meter.CreateCounter<long>("refits", "{refit}",
        "Refits by the validation gate's outcome: accepted (published as the new version) or rejected (the serving version stays).");

    private static readonly Counter<long> Samples = Meter.CreateCounter<long>("samples", "{sample}",
        "Labelled samples offered to a product's sample store: stored (kept), passed (the full reservoir kept its samples) or refused (another shape).");

    public static void RefitFinished(bool accepted, string product) =>
        Refits.Add(1, new KeyValuePair<string, object?>("outcome", accepted ? "accepted" : "rejected"), new KeyValuePair<string, object?>("product", product));

    public static void SamplesOffered(string product, int stored, int passed, int refused)
    {
        Add(stored, "stored");
        Add(passed, "passed");
        Add(refused, "refused");

        void Add(int count, string outcome)
        {
            if (count > 0) Samples.Add(count, new KeyValuePair<string, object?>("outcome", outcome), new KeyValuePair<string, object?>("product", product));
        }
    }
}
