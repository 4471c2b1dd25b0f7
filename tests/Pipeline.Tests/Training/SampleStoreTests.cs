using Pipeline.Shared.Kafka;
using Pipeline.Training.Samples;
using Xunit;
using static Pipeline.Tests.Training.TrainingSamples;

namespace Pipeline.Tests.Training;

public sealed class SampleStoreTests
{
    [Fact]
    public void Each_camera_keeps_at_most_its_reservoir_and_defects_are_kept_apart()
    {
        using var folder = new TempFolder();
        var store = SampleStore.Open(folder.Path, goodPerCamera: 5, defectCapacity: 3, out _);

        for (var i = 0; i < 40; i++) store.Add(Sample($"a-{i}", "camera-a"), out _);
        for (var i = 0; i < 2; i++) store.Add(Sample($"b-{i}", "camera-b"), out _);
        for (var i = 0; i < 7; i++) store.Add(Sample($"d-{i}", "camera-a", FrameLabel.Defect), out _);

        Assert.Equal(new Dictionary<string, int> { ["camera-a"] = 5, ["camera-b"] = 2 }, store.GoodPerCameraCounts);
        Assert.Equal(7, store.GoodCount);
        Assert.Equal(3, store.DefectCount);
        Assert.All(store.Defects, sample => Assert.Equal(FrameLabel.Defect, sample.Label));
        // Reservoir sampling: later samples get in too, not only the first five.
        Assert.Contains(store.Good, sample => sample.FrameId.StartsWith("a-", StringComparison.Ordinal) && int.Parse(sample.FrameId[2..]) >= 5);
    }

    [Fact]
    public void What_was_stored_is_read_back_after_a_restart_value_for_value()
    {
        using var folder = new TempFolder();
        var store = SampleStore.Open(folder.Path, goodPerCamera: 4, defectCapacity: 4, out _);
        for (var i = 0; i < 10; i++) store.Add(Sample($"f-{i}", $"camera-{i % 2}"), out _);
        store.Add(Sample("bad", "camera-0", FrameLabel.Defect), out _);
        store.Flush();

        var reopened = SampleStore.Open(folder.Path, goodPerCamera: 4, defectCapacity: 4, out var skipped);

        Assert.Equal(0, skipped);
        Assert.Equal(store.Good.Select(s => (s.FrameId, s.CameraId, s.CapturedAt)), reopened.Good.Select(s => (s.FrameId, s.CameraId, s.CapturedAt)));
        Assert.Equal(store.Good.Select(s => s.Features), reopened.Good.Select(s => s.Features));
        Assert.Equal("bad", Assert.Single(reopened.Defects).FrameId);
        Assert.Equal((64, 2), reopened.Shape);
    }

    [Fact]
    public void A_slot_torn_by_a_crash_is_skipped_and_the_rest_is_kept()
    {
        using var folder = new TempFolder();
        var store = SampleStore.Open(folder.Path, goodPerCamera: 4, defectCapacity: 4, out _);
        for (var i = 0; i < 3; i++) store.Add(Sample($"f-{i}"), out _);
        store.Flush();
        var file = Directory.GetFiles(folder.Path, "good-*.samples").Single();
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0xFF; // inside the second of three slots
        File.WriteAllBytes(file, bytes);

        var reopened = SampleStore.Open(folder.Path, goodPerCamera: 4, defectCapacity: 4, out var skipped);

        Assert.Equal(1, skipped);
        Assert.Equal(["f-0", "f-2"], reopened.Good.Select(s => s.FrameId));
    }

    [Fact]
    public void A_sample_of_another_image_size_or_view_count_is_refused_with_the_reason()
    {
        using var folder = new TempFolder();
        var store = SampleStore.Open(folder.Path, goodPerCamera: 4, defectCapacity: 4, out _);
        store.Add(Sample("first", imageSize: 64, views: 2), out _);

        var admission = store.Add(Sample("other", imageSize: 128, views: 2), out var refusal);

        Assert.Equal(SampleAdmission.Refused, admission);
        Assert.Contains("128 px", refusal, StringComparison.Ordinal);
        Assert.Equal(1, store.GoodCount);
    }
}
