using Pipeline.Tests.Support;
using Pipeline.Training.Registry;
using Xunit;

namespace Pipeline.Tests.Cli;

/// <summary><c>pipeline models … --registry</c> with and without <c>--product</c>, as an operator runs it on the training node's volume.</summary>
public sealed class ModelsCommandTests : IDisposable
{
    private readonly TempFolder folder = new();

    private string Registry => Path.Combine(folder.Path, "registry");

    private string Model(int seed)
    {
        var path = Path.Combine(folder.Path, $"model-{seed}.dnfm");
        TinyArtifacts.Create($"trained-{seed}", new string('a', 64), seed, TinyArtifacts.Flow()).Save(path);
        return path;
    }

    private static void AssertSucceeds(PipelineProcess.Outcome outcome, string printed)
    {
        Assert.True(outcome.ExitCode == 0, outcome.ToString());
        Assert.Contains(printed, outcome.StandardOutput);
    }

    [Fact]
    public void A_product_gets_its_own_versions_and_the_default_product_keeps_the_registry_root()
    {
        AssertSucceeds(PipelineProcess.Run("models", "import", Model(1), "--registry", Registry), "as v1 (current)");
        AssertSucceeds(PipelineProcess.Run("models", "import", Model(2), "--registry", Registry, "--product", "bracket-a"), "as v1 of product bracket-a (current)");
        AssertSucceeds(PipelineProcess.Run("models", "import", Model(3), "--registry", Registry, "--product", "bracket-a"),
            "as v2 of product bracket-a; make it current with 'pipeline models promote v2 --product bracket-a'");

        AssertSucceeds(PipelineProcess.Run("models", "promote", "v2", "--registry", Registry, "--product", "bracket-a"), "current version of product bracket-a: v2 (was v1)");
        var list = PipelineProcess.Run("models", "list", "--registry", Registry, "--product", "bracket-a");
        AssertSucceeds(list, "(product bracket-a)");
        Assert.Contains("* v2", list.StandardOutput);
        AssertSucceeds(PipelineProcess.Run("models", "rollback", "--registry", Registry, "--product", "bracket-a"), "current version of product bracket-a: v1 (was v2)");

        var plain = PipelineProcess.Run("models", "list", "--registry", Registry);
        AssertSucceeds(plain, "* v1");
        Assert.DoesNotContain("v2", plain.StandardOutput);
        Assert.Equal("v1", ModelRegistry.Open(Registry).Current?.Version);
        Assert.True(File.Exists(Path.Combine(Registry, "models", "v1.dnfm")), "the default product's versions stay at the registry root");
        Assert.Equal(["bracket-a", "default"], ModelRegistry.ProductsIn(Registry));
    }

    [Fact]
    public void A_bad_or_unknown_product_is_a_clear_error()
    {
        AssertSucceeds(PipelineProcess.Run("models", "import", Model(1), "--registry", Registry), "as v1 (current)");

        PipelineProcess.AssertUserError(PipelineProcess.Run("models", "list", "--registry", Registry, "--product", "Bracket_A"),
            "'Bracket_A' (--product) is not a product name");
        PipelineProcess.AssertUserError(PipelineProcess.Run("models", "rollback", "--registry", Registry, "--product", "bracket-z"),
            "has no product 'bracket-z'; it has default. Add it with 'pipeline models import <model.dnfm> --product bracket-z'.");
        PipelineProcess.AssertUserError(PipelineProcess.Run("refit", "--url", "http://127.0.0.1:1", "--product", "a-"), "'a-' (--product) is not a product name");
        Assert.Equal(["default"], ModelRegistry.ProductsIn(Registry)); // nothing was created for the unknown product
    }

    public void Dispose() => folder.Dispose();
}
