using Pipeline.Shared;
using Pipeline.Shared.Data;
using Xunit;

namespace Pipeline.Tests.Data;

public sealed class MvtecDatasetTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Training_images_are_listed_in_ordinal_order_without_other_or_hidden_files()
    {
        Touch("train/good/b.png", "train/good/A.PNG", "train/good/d.JPG", "train/good/c.jpeg", "train/good/e.bmp",
            "train/good/notes.txt", "train/good/.hidden.png", "train/good/nested/f.png");

        var dataset = MvtecDataset.Open(_folder.Path);

        Assert.Equal(["A.PNG", "b.png", "c.jpeg", "d.JPG", "e.bmp"], dataset.TrainGoodImages.Select(Path.GetFileName));
        Assert.All(dataset.TrainGoodImages, path => Assert.True(File.Exists(path), $"{path} is not a full path to the file."));
    }

    [Fact]
    public void Test_images_are_labelled_with_their_folder_and_ground_truth_is_not_read()
    {
        Touch("test/good/1.png", "test/hole/3.png", "test/crack/2.png", "test/crack/1.png", "test/.cache/4.png",
            "ground_truth/crack/1_mask.png", "ground_truth/crack/2_mask.png");

        var dataset = MvtecDataset.Open(_folder.Path);

        Assert.Equal(["crack", "hole"], dataset.DefectTypes);
        Assert.Equal(
            [("crack", "1.png", true), ("crack", "2.png", true), ("good", "1.png", false), ("hole", "3.png", true)],
            dataset.TestImages.Select(image => (image.DefectType, Path.GetFileName(image.Path), image.IsDefective)));
    }

    [Fact]
    public void A_complete_folder_passes_both_checks()
    {
        Touch("train/good/1.png", "test/good/1.png", "test/scratch/1.png");

        var dataset = MvtecDataset.Open(_folder.Path).RequireTrainingImages().RequireTestImages();

        Assert.Single(dataset.TrainGoodImages);
        Assert.Equal(2, dataset.TestImages.Count);
    }

    [Fact]
    public void A_missing_folder_is_refused_naming_it()
    {
        var missing = Path.Combine(_folder.Path, "mtd");

        var refusal = Assert.Throws<DatasetLayoutException>(() => MvtecDataset.Open(missing));

        Assert.Contains($"'{missing}' does not exist", refusal.Message);
        Assert.IsAssignableFrom<PipelineInputException>(refusal);
    }

    [Fact]
    public void A_file_given_as_the_folder_is_refused_naming_it()
    {
        var file = _folder.Write("mtd.zip", [1, 2, 3]);

        var refusal = Assert.Throws<DatasetLayoutException>(() => MvtecDataset.Open(file));

        Assert.Contains($"'{file}' is a file, not a dataset folder", refusal.Message);
    }

    [Fact]
    public void Training_without_a_train_good_folder_is_refused_naming_the_folder_and_what_it_holds()
    {
        Touch("test/good/1.png", "test/crack/1.png");

        var dataset = MvtecDataset.Open(_folder.Path);
        var refusal = Assert.Throws<DatasetLayoutException>(() => dataset.RequireTrainingImages());

        Assert.Contains($"'{_folder.Path}' has no 'train/good' folder", refusal.Message);
        Assert.Contains("it holds: test/", refusal.Message);
        Assert.Contains("Expected the MVTec AD layout", refusal.Message);
    }

    [Fact]
    public void Training_with_no_images_in_train_good_is_refused_naming_that_folder()
    {
        Touch("train/good/readme.txt");
        var trainGood = Path.Combine(_folder.Path, "train", "good");

        var refusal = Assert.Throws<DatasetLayoutException>(() => MvtecDataset.Open(_folder.Path).RequireTrainingImages());

        Assert.Contains($"'{trainGood}' contains no images (it holds: readme.txt)", refusal.Message);
    }

    [Fact]
    public void A_folder_with_only_training_images_is_enough_for_training_but_not_for_evaluation()
    {
        Touch("train/good/1.png");
        var dataset = MvtecDataset.Open(_folder.Path);

        dataset.RequireTrainingImages();
        var refusal = Assert.Throws<DatasetLayoutException>(() => dataset.RequireTestImages());

        Assert.Contains($"'{_folder.Path}' has no 'test/good' folder", refusal.Message);
    }

    [Fact]
    public void Evaluation_without_a_defect_folder_is_refused_saying_what_test_holds()
    {
        Touch("test/good/1.png");
        var test = Path.Combine(_folder.Path, "test");

        var refusal = Assert.Throws<DatasetLayoutException>(() => MvtecDataset.Open(_folder.Path).RequireTestImages());

        Assert.Contains($"'{test}' has no '<defect>' folder with images (it holds: good/)", refusal.Message);
    }

    [Fact]
    public void Evaluation_with_only_empty_defect_folders_is_refused()
    {
        Touch("test/good/1.png", "test/crack/notes.txt");
        Directory.CreateDirectory(Path.Combine(_folder.Path, "test", "hole"));

        var dataset = MvtecDataset.Open(_folder.Path);
        var refusal = Assert.Throws<DatasetLayoutException>(() => dataset.RequireTestImages());

        Assert.Empty(dataset.DefectTypes);
        Assert.Contains("(it holds: crack/, good/, hole/)", refusal.Message);
    }

    /// <summary>Creates empty files at these paths relative to the temp folder; listing does not read them.</summary>
    private void Touch(params string[] relativePaths)
    {
        foreach (var relativePath in relativePaths)
            _folder.Write(relativePath, []);
    }
}
