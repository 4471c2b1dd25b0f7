using System.Text.Json.Nodes;
using Xunit;

namespace Pipeline.Tests.Deploy;

/// <summary>
/// The tests' Kustomize subset (<see cref="Kustomize"/>) renders the overlays exactly as <c>kubectl kustomize</c> does.
/// Rendered/&lt;overlay&gt;.yaml is kubectl's output (kubectl 1.32, kustomize v5.5.0), kept in the repository; after
/// changing k8s/, make it again with <c>kubectl kustomize k8s/overlays/&lt;overlay&gt; &gt; tests/Pipeline.Tests/Deploy/Rendered/&lt;overlay&gt;.yaml</c>.
/// </summary>
public sealed class KustomizeTests
{
    private static string Key(JsonObject obj) => $"{obj["kind"]} {obj["metadata"]?["namespace"]}/{obj["metadata"]?["name"]}";

    [Theory]
    [MemberData(nameof(ManifestTests.Overlays), MemberType = typeof(ManifestTests))]
    public void The_tests_render_an_overlay_as_kubectl_kustomize_does(string overlay)
    {
        var kubectl = YamlDocuments.Load(Path.Combine(DeployFiles.RepositoryRoot, "tests", "Pipeline.Tests", "Deploy", "Rendered", $"{overlay}.yaml"))
            .Select(node => node.AsObject()).ToDictionary(Key);
        var ours = DeployFiles.Render(overlay).ToDictionary(Key);

        var differences = kubectl.Keys.Union(ours.Keys)
            .Where(key => !kubectl.TryGetValue(key, out var expected) || !ours.TryGetValue(key, out var actual) || !JsonNode.DeepEquals(expected, actual))
            .Select(key => $"{key}: kubectl {(kubectl.TryGetValue(key, out var e) ? e.ToJsonString() : "has none")}\n  tests  {(ours.TryGetValue(key, out var a) ? a.ToJsonString() : "have none")}")
            .ToList();
        Assert.True(differences.Count == 0,
            $"k8s/overlays/{overlay} renders differently from Rendered/{overlay}.yaml. If you changed the manifests, make that file again with kubectl kustomize; " +
            $"if kubectl renders it so, teach tests/Pipeline.Tests/Deploy/Kustomize.cs.\n{string.Join("\n", differences)}");
    }

    [Fact]
    public void A_kustomization_feature_the_tests_do_not_render_is_refused_not_ignored()
    {
        using var folder = new TempFolder();
        File.WriteAllText(Path.Combine(folder.Path, "kustomization.yaml"), "resources: [sa.yaml]\ncommonLabels:\n  team: vision\n");
        File.WriteAllText(Path.Combine(folder.Path, "sa.yaml"), "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n");

        var error = Assert.Throws<NotSupportedException>(() => Kustomize.Render(folder.Path));
        Assert.Contains("commonLabels is not rendered by the tests' Kustomize subset", error.Message);
    }

    [Fact]
    public void A_strategic_merge_patch_is_refused()
    {
        using var folder = new TempFolder();
        File.WriteAllText(Path.Combine(folder.Path, "kustomization.yaml"), "resources: [sa.yaml]\npatches:\n  - path: patch.yaml\n    target: {kind: ServiceAccount}\n");
        File.WriteAllText(Path.Combine(folder.Path, "sa.yaml"), "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n");
        File.WriteAllText(Path.Combine(folder.Path, "patch.yaml"), "metadata:\n  labels:\n    team: vision\n");

        var error = Assert.Throws<NotSupportedException>(() => Kustomize.Render(folder.Path));
        Assert.Contains("strategic merge patches are not", error.Message);
    }

    [Fact]
    public void A_failing_test_operation_stops_the_rendering_as_kustomize_does()
    {
        using var folder = new TempFolder();
        File.WriteAllText(Path.Combine(folder.Path, "kustomization.yaml"), "resources: [sa.yaml]\npatches:\n  - path: patch.yaml\n    target: {kind: ServiceAccount, name: sa}\n");
        File.WriteAllText(Path.Combine(folder.Path, "sa.yaml"), "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n  labels: {team: vision}\n");
        File.WriteAllText(Path.Combine(folder.Path, "patch.yaml"), "- op: test\n  path: /metadata/labels/team\n  value: robotics\n- op: remove\n  path: /metadata/labels\n");

        var error = Assert.Throws<InvalidDataException>(() => Kustomize.Render(folder.Path));
        Assert.Contains("test /metadata/labels/team failed on ServiceAccount sa: it is \"vision\", not \"robotics\"", error.Message);
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
