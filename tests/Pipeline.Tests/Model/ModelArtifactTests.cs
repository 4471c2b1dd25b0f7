using Pipeline.Shared.Model;
using Xunit;

namespace Pipeline.Tests.Model;

public class ModelArtifactTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("artifact-tests-").FullName;

    private static ModelArtifact SampleArtifact() => ModelArtifact.Create(new ModelManifest
    {
        ModelVersion = "test-1",
        CreatedAt = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero),
        BackboneSha256 = new string('a', 64),
        ImageSize = 64,
        TestViews = 4,
        Rotations = true,
        Flow = new FlowConfig { FeatureSize = 768, CouplingBlocks = 2, HiddenWidth = 8 },
        Threshold = 1.25,
        FalseAlarmRate = 0.05,
    }, Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray());

    [Fact]
    public void A_saved_artifact_loads_back_with_the_same_manifest_weights_and_checksum()
    {
        var original = SampleArtifact();
        var path = Path.Combine(directory, "model.dnfm");
        original.Save(path);

        var loaded = ModelArtifact.Load(directory);

        Assert.Equal(original.Manifest, loaded.Manifest with { Flow = loaded.Manifest.Flow });
        Assert.Equal(original.Manifest.Flow, loaded.Manifest.Flow);
        Assert.Equal(original.ReadWeights(), loaded.ReadWeights());
        Assert.Equal(original.Sha256, loaded.Sha256);
        Assert.Matches("^[0-9a-f]{64}$", loaded.Sha256);
    }

    [Fact]
    public void A_loaded_artifact_keeps_its_weights_on_disk_and_reads_the_file_it_checked_even_after_it_was_replaced()
    {
        var original = SampleArtifact();
        var path = Path.Combine(directory, "model.dnfm");
        original.Save(path);
        var loaded = ModelArtifact.Load(path);

        ModelArtifact.Create(original.Manifest with { ModelVersion = "test-2" }, new byte[10]).Save(path); // renamed over it
        File.Delete(path);

        Assert.True(loaded.WeightsOnDisk);
        Assert.Equal(original.ReadWeights(), loaded.ReadWeights());
        Assert.Equal(original.Sha256, loaded.SaveAs(Path.Combine(directory, "copy.dnfm"), loaded.Manifest).Sha256);
    }

    [Fact]
    public void A_loaded_artifact_whose_file_is_changed_in_place_refuses_to_be_read()
    {
        var path = Path.Combine(directory, "model.dnfm");
        SampleArtifact().Save(path);
        var loaded = ModelArtifact.Load(path);

        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.Seek(-40, SeekOrigin.End);
            file.WriteByte(0x5A);
        }
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));

        var error = Assert.Throws<ModelArtifactException>(() => loaded.ReadWeights());
        Assert.Contains("changed in place", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_file_is_refused_with_its_name()
    {
        var path = Path.Combine(directory, "model.dnfm");
        var bytes = SampleArtifact().ToBytes();
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);

        var error = Assert.Throws<ModelArtifactException>(() => ModelArtifact.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void A_single_flipped_byte_is_refused_as_corrupted()
    {
        var path = Path.Combine(directory, "model.dnfm");
        var bytes = SampleArtifact().ToBytes();
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<ModelArtifactException>(() => ModelArtifact.Load(path));
        Assert.Contains("corrupted", error.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_model_is_refused()
    {
        var path = Path.Combine(directory, "notes.txt");
        File.WriteAllText(path, "just some text, long enough to have a header");

        var error = Assert.Throws<ModelArtifactException>(() => ModelArtifact.Load(path));
        Assert.Contains("is not a model artifact", error.Message);
    }

    [Fact]
    public void A_directory_without_a_model_says_how_to_make_one()
    {
        var error = Assert.Throws<ModelArtifactException>(() => ModelArtifact.Load(directory));
        Assert.Contains("pipeline train", error.Message);
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
