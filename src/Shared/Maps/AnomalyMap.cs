namespace Pipeline.Shared.Maps;

/// <summary>
/// Where a frame looks anomalous: one non-negative value per pixel of the prepared S×S image the model saw, row by
/// row (see <c>docs/anomaly-maps.md</c> for how the model computes it). Larger is more anomalous; values of different
/// frames of one model compare directly.
/// </summary>
public sealed record AnomalyMap
{
    public AnomalyMap(int width, int height, float[] values)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"An anomaly map needs a positive size, got {width}x{height}.");
        if (values.Length != checked(width * height))
            throw new ArgumentException($"Expected {width * height} values for a {width}x{height} anomaly map, got {values.Length}.", nameof(values));
        Width = width;
        Height = height;
        Values = values;
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary><c>Width · Height</c> values, row by row.</summary>
    public float[] Values { get; }

    /// <summary>The highest value (0 for an all-zero map).</summary>
    public float Peak => Values.Length == 0 ? 0 : Math.Max(0, Values.Max());

    public float At(int x, int y) => Values[y * Width + x];
}

/// <summary>The size of the frame as the camera sent it, before <see cref="Imaging.FramePreparation"/> resized it.</summary>
public readonly record struct FrameSize(int Width, int Height);
