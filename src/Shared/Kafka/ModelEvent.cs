namespace Pipeline.Shared.Kafka;

/// <summary>What happened to a model version.</summary>
public enum ModelEventKind
{
    /// <summary>A refit passed the validation gate; the new version is current.</summary>
    Published,

    /// <summary>A refit failed the validation gate; nothing was published and the serving version stays.</summary>
    Rejected,

    /// <summary>The current version changed in the registry by hand (<c>pipeline models promote|rollback</c>, or an import).</summary>
    CurrentChanged,

    /// <summary>A scoring node put the version to work.</summary>
    Adopted,

    /// <summary>A scoring node refused the version (checksum, format or load failure); it keeps serving its old one.</summary>
    Refused,
}

/// <summary>
/// A model lifecycle event on the model-events topic (<see cref="TopicNames.ModelEvents"/>), keyed by version; JSON
/// through <see cref="InspectionEvents"/> (docs/events.md). For dashboards and alerting: a rejected refit or a node
/// that refused a version wants a person's attention.
/// </summary>
public sealed record ModelEvent
{
    /// <remarks>2 added <see cref="Product"/> (additive).</remarks>
    public const int CurrentSchemaVersion = 2;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    public required ModelEventKind Kind { get; init; }

    /// <summary>Whose model: versions are numbered per product.</summary>
    public string Product { get; init; } = Pipeline.Shared.Products.ProductName.Default;

    /// <summary>The version the event is about (for a rejected refit: the serving version it was measured against).</summary>
    public required string Version { get; init; }

    /// <summary>The version current before (published, current changed).</summary>
    public string? PreviousVersion { get; init; }

    /// <summary>One sentence: validation figures, or why it was rejected or refused.</summary>
    public required string Detail { get; init; }

    /// <summary>The scoring node (adopted, refused).</summary>
    public string? Node { get; init; }

    public required DateTimeOffset At { get; init; }
}
