using Pipeline.Shared;
using Pipeline.Shared.Model;
using Pipeline.Tests.Support;
using Pipeline.Training.Registry;
using Xunit;

namespace Pipeline.Tests.Training;

public sealed class ModelRegistryTests
{
    private static ModelArtifact Artifact(int seed) => TinyArtifacts.Create($"trained-{seed}", new string('a', 64), seed, TinyArtifacts.Flow());

    [Fact]
    public void Versions_are_numbered_in_order_and_each_artifact_names_its_version()
    {
        using var folder = new TempFolder();
        var registry = ModelRegistry.Open(folder.Path);

        var first = registry.Publish(Artifact(1), "imported", makeCurrent: true);
        var second = registry.Publish(Artifact(2), "refit of v1", makeCurrent: false);

        Assert.Equal(["v1", "v2"], registry.List().Select(model => model.Version));
        Assert.Equal("v1", registry.Current?.Version);
        Assert.Equal("v2", registry.Load("v2").Manifest.ModelVersion);
        Assert.Equal(second.Sha256, registry.Load("v2").Sha256);
        Assert.NotEqual(first.Sha256, second.Sha256);
    }

    [Fact]
    public void Promote_and_rollback_move_the_current_version_and_survive_reopening()
    {
        using var folder = new TempFolder();
        var registry = ModelRegistry.Open(folder.Path);
        registry.Publish(Artifact(1), "imported", makeCurrent: true);
        registry.Publish(Artifact(2), "refit", makeCurrent: true);
        registry.Publish(Artifact(3), "candidate", makeCurrent: false);

        registry.Promote("v3");
        Assert.Equal("v3", ModelRegistry.Open(folder.Path).Current?.Version);
        Assert.Equal("v2", registry.Rollback().Version);
        Assert.Equal("v1", registry.Rollback().Version);
        Assert.Equal("v1", ModelRegistry.Open(folder.Path).Current?.Version);
        var error = Assert.Throws<PipelineInputException>(() => registry.Rollback());
        Assert.Contains("no earlier version", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupted_artifact_cannot_be_promoted_and_the_current_version_stays()
    {
        using var folder = new TempFolder();
        var registry = ModelRegistry.Open(folder.Path);
        registry.Publish(Artifact(1), "imported", makeCurrent: true);
        registry.Publish(Artifact(2), "candidate", makeCurrent: false);
        var file = registry.PathOf("v2");
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(file, bytes);

        var error = Assert.Throws<ModelArtifactException>(() => registry.Promote("v2"));

        Assert.Contains("corrupted", error.Message, StringComparison.Ordinal);
        Assert.Equal("v1", registry.Current?.Version);
    }

    [Fact]
    public void An_unknown_version_is_named_with_the_versions_there_are()
    {
        using var folder = new TempFolder();
        var registry = ModelRegistry.Open(folder.Path);
        registry.Publish(Artifact(1), "imported", makeCurrent: true);

        var error = Assert.Throws<PipelineInputException>(() => registry.Promote("v7"));

        Assert.Contains("'v7'", error.Message, StringComparison.Ordinal);
        Assert.Contains("v1", error.Message, StringComparison.Ordinal);
    }
}
