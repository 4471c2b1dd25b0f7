using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Shared.Model;

/// <summary>
/// Loads a module's weights from a state dict as TorchSharp's <c>Module.save</c> writes it, reading each tensor's bytes
/// straight into the tensor's memory (<c>Tensor.bytes</c> of a CPU tensor is a span over it). TorchSharp's own
/// <c>Module.load</c> reads every tensor into a new array of its own first: about the model's size of garbage per load
/// (688 MB for DifferNet's flow), which then waits for the garbage collector. The checks are those of <c>load(strict: true)</c>: the number of entries, their names, element types and
/// shapes; a state dict that does not fit is refused with an <see cref="ArgumentException"/>.
/// </summary>
/// <remarks>
/// The format: the number of entries (LEB128), then per entry its name (a .NET <see cref="BinaryWriter"/> string), the
/// element type, the number of dimensions and each dimension (LEB128), and the tensor's bytes.
/// </remarks>
public static class StateDictReader
{
    /// <summary>Reads <paramref name="weights"/> into <paramref name="module"/>'s parameters and buffers, which must be on the CPU.</summary>
    public static void Load(nn.Module module, Stream weights)
    {
        using var reader = new BinaryReader(weights, Encoding.UTF8, leaveOpen: true);
        var state = module.state_dict();
        var entries = Decode(reader);
        if (entries != state.Count)
            throw new ArgumentException($"Mismatched state_dict sizes: expected {state.Count}, but found {entries} entries.");
        using var _ = no_grad();
        for (var i = 0; i < entries; i++)
        {
            var name = reader.ReadString();
            if (!state.TryGetValue(name, out var tensor))
                throw new ArgumentException($"Mismatched module state names: the module has no parameter or buffer named '{name}'.");
            var type = (ScalarType)Decode(reader);
            if (type != tensor.dtype)
                throw new ArgumentException($"Mismatched element type of '{name}': the module has {tensor.dtype}, the weights {type}.");
            var shape = new long[Decode(reader)];
            for (var d = 0; d < shape.Length; d++) shape[d] = Decode(reader);
            if (!shape.SequenceEqual(tensor.shape))
                throw new ArgumentException($"Mismatched shape of '{name}': the module has [{string.Join(", ", tensor.shape)}], the weights [{string.Join(", ", shape)}].");
            if (tensor.device_type != DeviceType.CPU || !tensor.is_contiguous())
                throw new InvalidOperationException($"'{name}' is not a contiguous tensor on the CPU; load the weights before moving the module to its device.");
            weights.ReadExactly(tensor.bytes);
        }
    }

    /// <summary>An unsigned LEB128 number, as TorchSharp writes counts, types and dimensions.</summary>
    private static long Decode(BinaryReader reader)
    {
        long value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = reader.ReadByte();
            value |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new ArgumentException("The state dict holds a number longer than 64 bits: it is not a TorchSharp state dict.");
    }
}
