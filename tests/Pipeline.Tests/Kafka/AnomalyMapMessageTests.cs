using Confluent.Kafka;
using Pipeline.Shared.Kafka;
using Xunit;

namespace Pipeline.Tests.Kafka;

/// <summary>An anomaly-maps message reads back as it was written; one that is not a map reads as none.</summary>
public sealed class AnomalyMapMessageTests
{
    [Fact]
    public void A_map_message_reads_back_with_its_frame_id_png_peak_and_region_level()
    {
        var message = InspectionEvents.ToMapMessage("camera-1", "frame-7", [1, 2, 3], peak: 0.125, regionLevel: 0.0625);

        var read = InspectionEvents.ReadMapMessage(message);

        Assert.NotNull(read);
        Assert.Equal(("frame-7", 0.125, 0.0625), (read.FrameId, read.Peak, read.RegionLevel));
        Assert.Equal([1, 2, 3], read.Png);
    }

    [Theory]
    [InlineData("frame-id")]
    [InlineData("content-type")]
    [InlineData("map-peak")]
    [InlineData("region-level")]
    public void A_message_without_a_map_header_is_not_a_map(string missing)
    {
        var message = InspectionEvents.ToMapMessage("camera-1", "frame-7", [1, 2, 3], peak: 0.125, regionLevel: 0.0625);
        message.Headers.Remove(missing);

        Assert.Null(InspectionEvents.ReadMapMessage(message));
    }

    [Fact]
    public void A_peak_that_is_not_a_number_or_an_empty_value_is_not_a_map()
    {
        var message = InspectionEvents.ToMapMessage("camera-1", "frame-7", [1, 2, 3], peak: 0.125, regionLevel: 0.0625);
        message.Headers.Remove("map-peak");
        message.Headers.Add("map-peak", "NaN"u8.ToArray());
        Assert.Null(InspectionEvents.ReadMapMessage(message));

        Assert.Null(InspectionEvents.ReadMapMessage(new Message<string, byte[]> { Key = "camera-1", Value = [], Headers = InspectionEvents.ToMapMessage("c", "f", [1], 1, 1).Headers }));
    }
}
