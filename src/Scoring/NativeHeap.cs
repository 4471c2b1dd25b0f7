using System.Runtime.InteropServices;

namespace Pipeline.Scoring;

/// <summary>
/// The C library's heap, where libtorch keeps tensors on the CPU. glibc keeps memory that was freed in the middle of its
/// heaps for reuse; after a model of hundreds of MB is disposed, <see cref="Trim"/> returns those pages to the system
/// (<c>malloc_trim(0)</c>), so that a swap does not leave the old model's size in the process's working set.
/// </summary>
public static class NativeHeap
{
    private static bool unavailable = !OperatingSystem.IsLinux();

    /// <summary>Returns free native heap pages to the system; does nothing where the C library has no <c>malloc_trim</c> (musl, macOS, Windows).</summary>
    public static void Trim()
    {
        if (unavailable) return;
        try
        {
            _ = malloc_trim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            unavailable = true;
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int malloc_trim(nuint pad);
}
