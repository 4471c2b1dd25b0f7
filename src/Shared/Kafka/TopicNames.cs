using System.Text.RegularExpressions;

namespace Pipeline.Shared.Kafka;

/// <summary>The pipeline's streams, by what they carry; <see cref="TopicNames"/> names them, <see cref="TopicCompression"/> says how they are compressed.</summary>
public enum PipelineTopic
{
    Frames,
    Results,
    Anomalies,
    DeadLetter,
    Labels,
    ModelEvents,
    AnomalyMaps,
}

/// <summary>
/// The one place that names the pipeline's topics. Bound from configuration section
/// <c>Kafka:Topics</c> (as <see cref="KafkaOptions.Topics"/>); the defaults are the names in
/// docs/events.md.
/// </summary>
public sealed partial class TopicNames
{
    /// <summary>Configuration section the names are bound from.</summary>
    public const string SectionName = KafkaOptions.SectionName + ":Topics";

    /// <summary>Camera frames in: key camera id, value the encoded image, metadata in headers.</summary>
    public string Frames { get; set; } = "frames";

    /// <summary>Every <see cref="InspectionResult"/>, keyed by camera id.</summary>
    public string Results { get; set; } = "inspection-results";

    /// <summary>Only the anomalous <see cref="InspectionResult"/>s, keyed by camera id.</summary>
    public string Anomalies { get; set; } = "anomalies";

    /// <summary>Frames that could not be inspected, as they came, with the reason in headers (<see cref="DeadLetters"/>).</summary>
    public string DeadLetter { get; set; } = "frames-dead-letter";

    /// <summary>Operator feedback on frames (<see cref="LabelFeedback"/>), keyed by camera id.</summary>
    public string Labels { get; set; } = "frame-labels";

    /// <summary>Model lifecycle events (<see cref="ModelEvent"/>): published, rejected, adopted or refused versions; keyed by version.</summary>
    public string ModelEvents { get; set; } = "model-events";

    /// <summary>The anomaly map of each frame that has one, as a small grayscale PNG: key camera id, header <c>frame-id</c> (docs/events.md).</summary>
    public string AnomalyMaps { get; set; } = "anomaly-maps";

    /// <summary>The name of <paramref name="topic"/>.</summary>
    public string NameOf(PipelineTopic topic) => topic switch
    {
        PipelineTopic.Frames => Frames,
        PipelineTopic.Results => Results,
        PipelineTopic.Anomalies => Anomalies,
        PipelineTopic.DeadLetter => DeadLetter,
        PipelineTopic.Labels => Labels,
        PipelineTopic.ModelEvents => ModelEvents,
        PipelineTopic.AnomalyMaps => AnomalyMaps,
        _ => throw new ArgumentOutOfRangeException(nameof(topic), topic, "Not one of the pipeline's topics."),
    };

    /// <summary>The topics a result is published to: the results topic always, the anomalies topic too when it is anomalous.</summary>
    public IReadOnlyList<string> DestinationsOf(InspectionResult result) =>
        result.Verdict == InspectionVerdict.Anomalous ? [Results, Anomalies] : [Results];

    /// <summary>What is wrong with the names, one message per problem; empty when they can be used.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        var named = new (string Key, string Name)[]
        {
            (nameof(Frames), Frames),
            (nameof(Results), Results),
            (nameof(Anomalies), Anomalies),
            (nameof(DeadLetter), DeadLetter),
            (nameof(Labels), Labels),
            (nameof(ModelEvents), ModelEvents),
            (nameof(AnomalyMaps), AnomalyMaps),
        };
        foreach (var (key, name) in named)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                problems.Add($"{SectionName}:{key} is empty; name the topic or remove the setting to use the default.");
            }
            else if (name is "." or ".." || name.Length > 249 || !LegalTopicName().IsMatch(name))
            {
                problems.Add(
                    $"{SectionName}:{key} '{name}' is not a legal Kafka topic name: use 1 to 249 of the characters " +
                    "a-z A-Z 0-9 . _ - (and not '.' or '..').");
            }
        }

        foreach (var shared in named.Where(n => !string.IsNullOrWhiteSpace(n.Name)).GroupBy(n => n.Name).Where(g => g.Count() > 1))
        {
            problems.Add(
                $"{string.Join(" and ", shared.Select(n => $"{SectionName}:{n.Key}"))} all name topic '{shared.Key}'; " +
                "each stream needs its own topic.");
        }

        return problems;
    }

    [GeneratedRegex("^[a-zA-Z0-9._-]+$")]
    private static partial Regex LegalTopicName();
}
