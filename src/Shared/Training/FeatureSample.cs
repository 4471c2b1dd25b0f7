using Pipeline.Shared.Kafka;
using Pipeline.Shared.Products;

namespace Pipeline.Shared.Training;

/// <summary>
/// The features of one labelled frame, as a scoring node computed them while scoring it: what the training side
/// stores and refits the flow on instead of the image (the backbone is frozen, so they never go stale).
/// </summary>
/// <param name="FrameId">The frame the features come from.</param>
/// <param name="CameraId">The camera (the sample store keeps a reservoir per camera).</param>
/// <param name="Label">Known good, or a known defect (kept apart, for the validation gate only).</param>
/// <param name="CapturedAt">When the camera took the frame.</param>
/// <param name="ImageSize">Side of the prepared frame the features were computed at; a flow is refitted on one size only.</param>
/// <param name="Views">Test views of the frame; <paramref name="Features"/> holds their feature vectors one after another.</param>
/// <param name="Features"><c>Views × 768</c> values: view 0's features, then view 1's, …</param>
/// <param name="Product">The frame's product: its samples refit that product's flow only.</param>
public sealed record FeatureSample(
    string FrameId,
    string CameraId,
    FrameLabel Label,
    DateTimeOffset CapturedAt,
    int ImageSize,
    int Views,
    float[] Features,
    string Product = ProductName.Default)
{
    /// <summary>
    /// Values per view: the feature pyramid's output size, 3 scales × 256 <c>layer3</c> channels of ResNet-18. Part of
    /// the training contract, so the contracts need no model library; a test checks that it equals
    /// <c>FeaturePyramid.FeatureSize</c>.
    /// </summary>
    public const int FeatureSize = 768;

    /// <summary>A sentence naming what is wrong with the sample's shape, or null when <see cref="Features"/> holds <see cref="Views"/> whole views.</summary>
    public string? ShapeProblem() =>
        Views < 1 ? $"sample of frame {FrameId} has {Views} views"
        : Features.Length != Views * FeatureSize ? $"sample of frame {FrameId} has {Features.Length} feature values, expected {Views} views × {FeatureSize}"
        : null;
}
