namespace Pipeline.Shared.Model;

/// <summary>
/// Everything a saved model needs besides its flow weights: how images are prepared and viewed, the
/// flow's shape, which backbone produced its features, and the calibrated threshold.
/// </summary>
public sealed record ModelManifest
{
    /// <summary>Version of the artifact layout; a reader refuses a newer one.</summary>
    public const int CurrentFormatVersion = 1;

    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>Human-facing version of this model (a registry may assign it); results name it.</summary>
    public required string ModelVersion { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>SHA-256 of the pretrained backbone file the features came from; features of another backbone do not fit the flow.</summary>
    public required string BackboneSha256 { get; init; }

    /// <summary>Side S of the square input image (features at S, S/2, S/4).</summary>
    public required int ImageSize { get; init; }
    public required int TestViews { get; init; }
    public required bool Rotations { get; init; }
    public required FlowConfig Flow { get; init; }

    /// <summary>A frame is anomalous when its score is above this.</summary>
    public required double Threshold { get; init; }
    /// <summary>Share of known-good images the threshold was calibrated to flag.</summary>
    public required double FalseAlarmRate { get; init; }

    public TrainingSummary? Training { get; init; }

    /// <summary>How anomaly maps are blurred and the level above which a map area is a region, calibrated on good images; absent in models trained before maps.</summary>
    public AnomalyMapCalibration? AnomalyMaps { get; init; }
}

/// <summary>
/// The anomaly maps of a model: the blur they get (<paramref name="Sigma"/>, pixels of the prepared image) and the
/// region level, calibrated like the threshold: the peaks of the maps of <paramref name="CalibrationImages"/> held-back
/// good images, at the model's false-alarm rate (a good part shows a region about as often as it raises an alarm).
/// </summary>
public sealed record AnomalyMapCalibration(double Sigma, double RegionLevel, int CalibrationImages);

/// <summary>What a model was trained on and how it went; for people reading the artifact.</summary>
public sealed record TrainingSummary(
    string DataSource,
    int TrainingImages,
    int CalibrationImages,
    int TrainingViewsPerImage,
    int Epochs,
    double FinalLoss,
    double TrainingSeconds);
