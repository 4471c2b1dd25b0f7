using Xunit;

namespace Pipeline.Tests.Training;

/// <summary>
/// Test classes that train flows with TorchSharp's Adam and run alone, with no other test class beside them. Adam's step
/// passes numbers to libtorch as <c>Scalar</c>s it creates implicitly and leaves to their finalizers (TorchSharp pull
/// requests #1434 and #1496, open); while other tests force collections beside it (every model load does one), a
/// finalizer can free such a Scalar while libtorch still reads it, and the step fails with "Expected false to be true
/// … toFloat" (seen once in a clean-clone run of the whole suite: all of FlowRefitTests' fixture; alone it passes).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneWithTheCollector
{
    public const string Name = "alone with the collector";
}
