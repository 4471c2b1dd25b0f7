namespace Pipeline.Shared.Maps;

/// <summary>
/// One connected area of an anomaly map above the region level, in the pixel coordinates of the frame as the camera
/// sent it (before resizing): the bounding box (<paramref name="X"/>, <paramref name="Y"/> its top-left corner,
/// inclusive; <paramref name="Width"/> × <paramref name="Height"/> pixels), the highest map value in it and where it
/// lies, and the area it covers in frame pixels.
/// </summary>
public sealed record AnomalyRegion(int X, int Y, int Width, int Height, double Peak, int PeakX, int PeakY, int Area);
