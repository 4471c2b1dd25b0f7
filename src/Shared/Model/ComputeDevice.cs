using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Shared.Model;

/// <summary>Chooses the tensor device once, from a user-facing name.</summary>
public static class ComputeDevice
{
    /// <summary>
    /// "auto" (the first CUDA device when one is available, else the CPU), "cpu", "cuda" or "cuda:N".
    /// </summary>
    public static Device Resolve(string name)
    {
        var normalized = name.Trim().ToLowerInvariant();
        if (normalized is "" or "auto")
            return cuda.is_available() ? CUDA : CPU;
        if (normalized == "cpu")
            return CPU;
        if (normalized == "cuda" || normalized.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!cuda.is_available())
                throw new PipelineInputException($"Device '{name}' was requested but no CUDA device is available to this process (this build uses the CPU libtorch, or no GPU is visible). Use --device cpu or auto.");
            var index = normalized == "cuda" ? 0 : ParseIndex(name, normalized["cuda:".Length..]);
            if (index >= cuda.device_count())
                throw new PipelineInputException($"Device '{name}' does not exist: {cuda.device_count()} CUDA device(s) are visible.");
            return new Device(DeviceType.CUDA, index);
        }
        throw new PipelineInputException($"Unknown device '{name}'. Use auto, cpu, cuda or cuda:N.");
    }

    private static int ParseIndex(string name, string digits) =>
        int.TryParse(digits, out var index) && index >= 0
            ? index
            : throw new PipelineInputException($"Device '{name}' has no valid index; write cuda:0, cuda:1, ...");
}
