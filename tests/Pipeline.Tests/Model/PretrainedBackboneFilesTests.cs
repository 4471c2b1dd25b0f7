using Pipeline.Shared.Model;
using Xunit;

namespace Pipeline.Tests.Model;

public sealed class PretrainedBackboneFilesTests
{
    [Fact]
    public void Both_files_are_found_next_to_the_test_assembly()
    {
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "DnnImageModels/ResNet18Onnx/ResNet18.onnx"), PretrainedBackboneFiles.ResNet18OnnxPath());
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx"), PretrainedBackboneFiles.PreprocessingOnnxPath());
    }

    [Fact]
    public void The_network_hash_is_that_of_the_package_file()
    {
        Assert.Equal("e2552f19db2dfdb01b3669537b6a0f1b44da38d18279535492ed5dfc2ef1ff8f", PretrainedBackboneFiles.ResNet18Sha256());
    }

    [Fact]
    public void A_missing_file_is_reported_with_where_it_was_looked_for_and_which_package_provides_it()
    {
        var nowhere = Path.Combine(Path.GetTempPath(), $"no-backbone-{Guid.NewGuid():N}");

        var error = Assert.Throws<FileNotFoundException>(
            () => PretrainedBackboneFiles.Find("DnnImageModels/ResNet18Onnx/ResNet18.onnx", Path.Combine(nowhere, "bin"), Path.Combine(nowhere, "packages")));

        Assert.Contains(Path.Combine(nowhere, "bin", "DnnImageModels/ResNet18Onnx/ResNet18.onnx"), error.Message);
        Assert.Contains(Path.Combine(nowhere, "packages", "microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1", "tools"), error.Message);
        Assert.Contains("Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1", error.Message);
    }
}
