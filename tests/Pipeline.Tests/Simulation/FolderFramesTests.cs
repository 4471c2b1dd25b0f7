using Pipeline.Shared;
using Pipeline.Shared.Kafka;
using Pipeline.Simulation;
using Xunit;

namespace Pipeline.Tests.Simulation;

/// <summary>What a simulated camera makes of a folder of images.</summary>
public sealed class FolderFramesTests : IDisposable
{
    private readonly TempFolder folder = new();

    [Fact]
    public void Labels_come_from_an_mvtec_layout_and_its_masks_are_left_out()
    {
        SyntheticParts.WriteMvtecFolder(folder.Path, trainGood: 2, testGood: 1, testPerDefect: 1, size: 32, seed: 4);
        folder.Write("ground_truth/hole/000_mask.png", [1, 2, 3]);
        folder.Write("extra/loose.png", [4, 5, 6]);

        var frames = FolderFrames.Open(folder.Path, new FolderFramesOptions { LabelFromFolders = true });

        var expected = new (string Path, FrameLabel? Label)[]
        {
            ("extra/loose.png", null),
            ("test/good/000.png", FrameLabel.Good),
            ("test/hole/000.png", FrameLabel.Defect),
            ("test/scratch/000.png", FrameLabel.Defect),
            ("test/stain/000.png", FrameLabel.Defect),
            ("train/good/000.png", FrameLabel.Good),
            ("train/good/001.png", FrameLabel.Good),
        };
        Assert.Equal(expected, frames.Images.Select(i => (Path.GetRelativePath(folder.Path, i.Path), i.Label)));
        Assert.Equal(expected.Select(e => e.Label), frames.Select(f => f.Metadata.Label));
        Assert.Equal(File.ReadAllBytes(Path.Combine(folder.Path, "test/hole/000.png")), frames.ElementAt(2).EncodedImage);
    }

    [Fact]
    public void Without_labels_every_image_is_sent_as_it_is_with_the_content_type_of_its_extension()
    {
        folder.Write("b/good/1.JPEG", [1]);
        folder.Write("b/good/2.jpg", [2]);
        folder.Write("a.bmp", [3]);
        folder.Write("c.png", [4]);
        folder.Write("notes.txt", [5]);
        folder.Write(".hidden/d.png", [6]);
        folder.Write(".e.png", [7]);

        var frames = FolderFrames.Open(folder.Path, new FolderFramesOptions()).ToList();

        Assert.Equal(
            [(FrameContentTypes.Bmp, 3), (FrameContentTypes.Jpeg, 1), (FrameContentTypes.Jpeg, 2), (FrameContentTypes.Png, 4)],
            frames.Select(f => (f.Metadata.ContentType, (int)f.EncodedImage.Single())));
        Assert.All(frames, f => Assert.Null(f.Metadata.Label));
        Assert.Equal(["camera-1-1", "camera-1-2", "camera-1-3", "camera-1-4"], frames.Select(f => f.Metadata.FrameId));
        Assert.All(frames, f => Assert.Equal(FolderFramesOptions.DefaultCameraId, f.Metadata.CameraId));
    }

    [Fact]
    public void A_count_goes_round_the_folder_and_cameras_take_turns()
    {
        folder.Write("1.png", [1]);
        folder.Write("2.png", [2]);
        folder.Write("3.png", [3]);

        var frames = FolderFrames.Open(folder.Path, new FolderFramesOptions
        {
            Count = 7,
            CameraIds = FolderFramesOptions.NumberedCameras(2),
            FrameIdPrefix = "run7",
        });

        Assert.Equal(7, frames.Count);
        Assert.Equal([1, 2, 3, 1, 2, 3, 1], frames.Select(f => (int)f.EncodedImage.Single()));
        Assert.Equal(
            ["run7-camera-1-1", "run7-camera-2-1", "run7-camera-1-2", "run7-camera-2-2", "run7-camera-1-3", "run7-camera-2-3", "run7-camera-1-4"],
            frames.Select(f => f.Metadata.FrameId));
        Assert.Equal(["camera-1", "camera-2", "camera-1"], frames.Take(3).Select(f => f.Metadata.CameraId));
    }

    [Fact]
    public void A_missing_folder_or_one_without_images_is_named()
    {
        var missing = Path.Combine(folder.Path, "nowhere");
        Assert.Contains($"'{missing}' does not exist", Assert.Throws<PipelineInputException>(() => FolderFrames.Open(missing, new FolderFramesOptions())).Message);

        folder.Write("readme.txt", [1]);
        folder.Write("ground_truth/hole/000_mask.png", [1]);
        var noImages = Assert.Throws<PipelineInputException>(() => FolderFrames.Open(folder.Path, new FolderFramesOptions { LabelFromFolders = true }));
        Assert.Contains($"'{folder.Path}' holds no .png", noImages.Message);
    }

    [Fact]
    public void A_file_that_cannot_be_read_is_named()
    {
        folder.Write("1.png", [1]);
        var vanishing = folder.Write("2.png", [2]);
        var frames = FolderFrames.Open(folder.Path, new FolderFramesOptions());
        File.Delete(vanishing);

        var error = Assert.Throws<PipelineInputException>(() => frames.ToList());
        Assert.Contains($"'{vanishing}' cannot be read", error.Message);
    }

    public void Dispose() => folder.Dispose();
}
