using System.Globalization;
using Confluent.Kafka;

namespace Pipeline.Shared.Kafka;

/// <summary>An anomaly map as read back from the anomaly-maps topic (<see cref="InspectionEvents.ToMapMessage"/>).</summary>
/// <param name="Png">The 8-bit grayscale PNG: 0 is a map value of 0, 255 is <paramref name="Peak"/>.</param>
public sealed record AnomalyMapMessage(string FrameId, byte[] Png, double Peak, double RegionLevel);

public static partial class InspectionEvents
{
    /// <summary>
    /// Reads a message of the anomaly-maps topic; null when it is not one (no <c>frame-id</c>, not <c>image/png</c>,
    /// an empty value, or peak and region level that are not numbers).
    /// </summary>
    public static AnomalyMapMessage? ReadMapMessage(Message<string, byte[]> message)
    {
        if (message.Value is not { Length: > 0 } png) return null;
        if (HeaderText.Of(message.Headers, FrameHeaderNames.FrameId) is not { Length: > 0 } frameId) return null;
        if (HeaderText.Of(message.Headers, FrameHeaderNames.ContentType) != MapContentType) return null;
        if (!TryNumber(HeaderText.Of(message.Headers, MapPeakHeader), out var peak) || !TryNumber(HeaderText.Of(message.Headers, RegionLevelHeader), out var level)) return null;
        return new AnomalyMapMessage(frameId, png, peak, level);

        static bool TryNumber(string? text, out double value) =>
            double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }
}
