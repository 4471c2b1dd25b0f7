using Pipeline.Scoring;
using Pipeline.Shared.Imaging;
using Pipeline.Shared.Maps;
using Pipeline.Shared.Model;

namespace Pipeline.Tests.Scoring;

/// <summary>
/// A stand-in model for actor tests: a frame's score is its first byte / 100 (plus <see cref="Offset"/>, to tell
/// models apart by their scores), and a batch holding a frame whose first byte is <see cref="Poison"/> throws, as a
/// device error would. The threshold is 1.
/// </summary>
internal sealed class FakeScoringModel(string version, int imageSize = FakeScoringModel.Size) : IScoringModel
{
    public const int Size = 8;
    public const byte Poison = 255;

    private int disposed;
    private int batchesWithFeatures;

    public string Version { get; } = version;
    public int ImageSize { get; } = imageSize;
    public int ViewsPerFrame => 2;
    public double Threshold => 1;
    public bool Disposed => Volatile.Read(ref disposed) == 1;

    /// <summary>Added to every score: models of different offsets score the same frame apart.</summary>
    public double Offset { get; init; }

    /// <summary>Loads any artifact as a fake model of its version; an artifact whose version starts with "broken" fails to load.</summary>
    public static IScoringModel Load(ModelArtifact artifact) =>
        artifact.Manifest.ModelVersion.StartsWith("broken", StringComparison.Ordinal)
            ? throw new ModelArtifactException(artifact.Manifest.ModelVersion, "has weights that do not fit its flow configuration")
            : new FakeScoringModel(artifact.Manifest.ModelVersion);

    /// <summary>An artifact that only names a version (its weights are empty).</summary>
    public static ModelArtifact Artifact(string version) => ModelArtifact.Create(new ModelManifest
    {
        ModelVersion = version,
        CreatedAt = DateTimeOffset.UnixEpoch,
        BackboneSha256 = new string('0', 64),
        ImageSize = Size,
        TestViews = 2,
        Rotations = true,
        Flow = new FlowConfig { FeatureSize = FeaturePyramid.FeatureSize, CouplingBlocks = 1, HiddenWidth = 1 },
        Threshold = 1,
        FalseAlarmRate = 0.05,
    }, []);

    /// <summary>A uniform frame whose fake score is <paramref name="value"/> / 100.</summary>
    public static RgbImage Frame(byte value, int size = Size) => new(size, size, Enumerable.Repeat(value, size * size * 3).ToArray());

    public double[] Score(IReadOnlyList<RgbImage> frames)
    {
        ObjectDisposedException.ThrowIf(Disposed, this);
        if (frames.Any(frame => frame.Pixels[0] == Poison))
            throw new InvalidOperationException("CUDA error: out of memory");
        return frames.Select(frame => frame.Pixels[0] / 100.0 + Offset).ToArray();
    }

    /// <summary>How many batches were scored with their features.</summary>
    public int BatchesWithFeatures => Volatile.Read(ref batchesWithFeatures);

    /// <summary>Each frame's features: its first byte, repeated for the 768 values of each view.</summary>
    public ScoredFrames ScoreWithFeatures(IReadOnlyList<RgbImage> frames)
    {
        var scores = Score(frames);
        Interlocked.Increment(ref batchesWithFeatures);
        return new ScoredFrames(scores, frames.Select(frame => Enumerable.Repeat((float)frame.Pixels[0], ViewsPerFrame * FeaturePyramid.FeatureSize).ToArray()).ToArray());
    }

    /// <summary>Maps wait until it is set (set from the start): a test holds them to see what happens while maps wait.</summary>
    public ManualResetEventSlim MapGate { get; } = new(initialState: true);

    /// <summary>The value of every map pixel but the hot one (0 by default).</summary>
    public float MapBackground { get; set; }

    /// <summary>The region level the fake model says it calibrated (0.5 by default).</summary>
    public double? MapRegionLevel { get; set; } = 0.5;

    /// <summary>A map with one hot pixel (1) in the middle of the frame over <see cref="MapBackground"/>, made once <see cref="MapGate"/> is set.</summary>
    public (AnomalyMap Map, double? RegionLevel)? Map(RgbImage frame)
    {
        if (!MapGate.Wait(TimeSpan.FromSeconds(30))) throw new TimeoutException("The test never let the fake model's map go.");
        var values = Enumerable.Repeat(MapBackground, frame.Width * frame.Height).ToArray();
        values[frame.Height / 2 * frame.Width + frame.Width / 2] = 1;
        return (new AnomalyMap(frame.Width, frame.Height, values), MapRegionLevel);
    }

    public void Dispose() => Volatile.Write(ref disposed, 1);
}
