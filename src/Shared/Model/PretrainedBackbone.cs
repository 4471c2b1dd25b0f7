using static TorchSharp.torch;

namespace Pipeline.Shared.Model;

/// <summary>
/// The frozen, ImageNet-pretrained feature pyramid on one device, with the identity (SHA-256) of the
/// backbone file it was imported from. Load it once per device and share it.
/// </summary>
public sealed class PretrainedBackbone : IDisposable
{
    private PretrainedBackbone(FeaturePyramid pyramid, string sha256, Device device)
    {
        Pyramid = pyramid;
        Sha256 = sha256;
        Device = device;
    }

    public FeaturePyramid Pyramid { get; }
    public string Sha256 { get; }
    public Device Device { get; }
    public string Description => $"ResNet-18 (ImageNet, {PretrainedBackboneFiles.PackageId} {PretrainedBackboneFiles.PackageVersion}, sha256 {Sha256[..12]})";

    /// <summary>Imports the backbone from the NuGet package's ONNX files; a missing or foreign file is an input problem.</summary>
    public static PretrainedBackbone Load(Device device)
    {
        try
        {
            return new PretrainedBackbone(FeaturePyramid.LoadPretrained(device), PretrainedBackboneFiles.ResNet18Sha256(), device);
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
        {
            throw new PipelineInputException(e.Message, e);
        }
    }

    public void Dispose() => Pyramid.Dispose();
}
