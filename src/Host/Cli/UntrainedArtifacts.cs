using Pipeline.Shared.Model;
using Pipeline.Training;

namespace Pipeline.Host.Cli;

/// <summary>
/// Models of real size for the benchmarks that time what does not depend on learned weights (transfer, load, swap,
/// batches): freshly initialised flows saved as artifacts, and a way to start the next measurement without the
/// gigabytes of garbage that making them left in the process.
/// </summary>
internal static class UntrainedArtifacts
{
    /// <summary>A freshly initialised flow of <paramref name="flow"/>'s shape saved to <paramref name="path"/>; its threshold flags nothing.</summary>
    public static string Save(string path, string version, FlowConfig flow, string backboneSha, int imageSize, int views, int seed)
    {
        ModelTraining.UntrainedArtifact(version, flow with { PermutationSeed = seed }, backboneSha, imageSize, views, seed, threshold: 1e12).Save(path);
        CollectGarbage();
        return path;
    }

    /// <summary>A full, compacting collection, the large object heap included, so that a measurement of memory that follows starts clean.</summary>
    public static void CollectGarbage()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
