namespace Pipeline.Tests.Deploy;

/// <summary>An image reference split as Kustomize and the container runtime read it.</summary>
internal static class ImageReference
{
    public static (string Name, string? Tag, string? Digest) Parse(string image)
    {
        string? digest = null;
        var at = image.IndexOf('@');
        if (at >= 0) (image, digest) = (image[..at], image[(at + 1)..]);
        var colon = image.LastIndexOf(':');
        // A colon after the last '/' separates the tag; one before it belongs to a registry's port.
        return colon > image.LastIndexOf('/') ? (image[..colon], image[(colon + 1)..], digest) : (image, null, digest);
    }
}
