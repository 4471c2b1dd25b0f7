using Pipeline.Shared.Maps;
using Xunit;

namespace Pipeline.Tests.Maps;

public sealed class AnomalyRegionsTests
{
    /// <summary>A 10×10 map, zero but for the given pixels.</summary>
    private static AnomalyMap Map(params (int X, int Y, float Value)[] pixels)
    {
        var values = new float[100];
        foreach (var (x, y, value) in pixels) values[y * 10 + x] = value;
        return new AnomalyMap(10, 10, values);
    }

    [Fact]
    public void Connected_pixels_above_the_level_make_one_region_the_highest_peak_first()
    {
        // A diagonal pair (8-connected) at the top left, peak 3; a single pixel at the bottom right, peak 5; one pixel at the level.
        var map = Map((1, 1, 2), (2, 2, 3), (8, 8, 5), (5, 5, 1));

        var regions = AnomalyRegions.Find(map, level: 1, maxRegions: 5, new FrameSize(10, 10));

        Assert.Equal(
            [new AnomalyRegion(8, 8, 1, 1, 5, 8, 8, 1), new AnomalyRegion(1, 1, 2, 2, 3, 2, 2, 2)],
            regions);
    }

    [Fact]
    public void At_most_the_given_number_of_regions_are_kept()
    {
        var map = Map((1, 1, 2), (5, 5, 4), (8, 8, 3));
        var regions = AnomalyRegions.Find(map, level: 0, maxRegions: 2, new FrameSize(10, 10));
        Assert.Equal([4.0, 3.0], regions.Select(r => r.Peak));
    }

    [Fact]
    public void Boxes_peaks_and_areas_are_scaled_to_the_frame_the_camera_sent()
    {
        // The map covers a 40×20 frame: a map pixel is 4 frame pixels wide and 2 high.
        var map = Map((2, 3, 1), (3, 3, 2), (3, 4, 1));
        var region = Assert.Single(AnomalyRegions.Find(map, level: 0.5, maxRegions: 3, new FrameSize(40, 20)));
        // Map columns 2..3 are frame columns 8..15; rows 3..4 are frame rows 6..9; the peak pixel (3, 3) has its centre at (14, 7).
        Assert.Equal(new AnomalyRegion(8, 6, 8, 4, 2, 14, 7, 24), region);
    }
}
