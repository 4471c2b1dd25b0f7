using Xunit;

namespace Pipeline.Tests.Deploy;

/// <summary>The deployment tests read the overlays as <c>kubectl kustomize</c> renders them (<see cref="Kustomize"/>).</summary>
public sealed class KustomizeTests
{
    [Fact]
    public void A_kustomization_kubectl_cannot_render_fails_with_kubectls_own_message()
    {
        using var folder = new TempFolder();
        File.WriteAllText(Path.Combine(folder.Path, "kustomization.yaml"), "resources: [missing-service-account.yaml]\n");

        var error = Assert.Throws<InvalidDataException>(() => Kustomize.Render(folder.Path));

        Assert.Contains($"kubectl kustomize {folder.Path} failed", error.Message);
        Assert.Contains("missing-service-account.yaml", error.Message);
    }

    [Fact]
    public void Each_render_is_a_copy_that_a_test_may_change()
    {
        using var folder = new TempFolder();
        File.WriteAllText(Path.Combine(folder.Path, "kustomization.yaml"), "resources: [sa.yaml]\nnamespace: vision\n");
        File.WriteAllText(Path.Combine(folder.Path, "sa.yaml"), "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n");

        var first = Kustomize.Render(folder.Path).Single();
        first["metadata"]!["name"] = "changed";
        var second = Kustomize.Render(folder.Path).Single();

        Assert.Equal("sa", second["metadata"]!["name"]!.GetValue<string>());
        Assert.Equal("vision", second["metadata"]!["namespace"]!.GetValue<string>());
    }

    [Fact]
    public void Unquoted_numbers_and_booleans_are_typed_as_kubernetes_reads_them()
    {
        var doc = YamlDocuments.Parse("a: 4053\nb: \"4053\"\nc: true\nd: 0.0.0.0\ne: 1.5\nf: ~\ng: 'yes'\n", "test").Single().AsObject();

        Assert.Equal(4053L, doc["a"]!.GetValue<long>());
        Assert.Equal("4053", doc["b"]!.GetValue<string>());
        Assert.True(doc["c"]!.GetValue<bool>());
        Assert.Equal("0.0.0.0", doc["d"]!.GetValue<string>());
        Assert.Equal(1.5, doc["e"]!.GetValue<double>());
        Assert.Null(doc["f"]);
        Assert.Equal("yes", doc["g"]!.GetValue<string>());
    }
}
