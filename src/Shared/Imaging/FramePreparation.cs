namespace Pipeline.Shared.Imaging;

/// <summary>
/// The one place that turns a decoded picture into the square S×S 8-bit image the model works on (aspect ratio not
/// kept, as DifferNet), for training, offline evaluation and streaming alike. Ingest does this before frames travel,
/// so they cross the network as compact 8-bit images, and it needs no tensor library to do it.
/// </summary>
public static class FramePreparation
{
    /// <summary>Decoded image → the S×S image of side <paramref name="imageSize"/>; the image itself when it already is.</summary>
    public static RgbImage Prepare(RgbImage decoded, int imageSize) =>
        decoded.Width == imageSize && decoded.Height == imageSize ? decoded : ImageResampling.ResizeSquare(decoded, imageSize);
}
