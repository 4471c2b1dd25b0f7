using Pipeline.Shared.Model;
using Pipeline.Tests.Support;
using Xunit;

namespace Pipeline.Tests.Model;

/// <summary>Our state dict reader against TorchSharp's own <c>Module.load</c>, on flows saved by TorchSharp.</summary>
public sealed class StateDictReaderTests
{
    private static byte[] Saved(CouplingFlow flow)
    {
        using var bytes = new MemoryStream();
        flow.save(bytes);
        return bytes.ToArray();
    }

    [Fact]
    public void A_flow_reads_back_exactly_the_weights_TorchSharps_own_load_gives()
    {
        using var saved = new CouplingFlow(TinyArtifacts.Flow());
        var weights = Saved(saved);
        using var ours = new CouplingFlow(TinyArtifacts.Flow());
        using var theirs = new CouplingFlow(TinyArtifacts.Flow());

        StateDictReader.Load(ours, new MemoryStream(weights));
        theirs.load(new MemoryStream(weights), strict: true);

        var (expected, actual) = (theirs.state_dict(), ours.state_dict());
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        Assert.All(expected, entry => Assert.True(entry.Value.allclose(actual[entry.Key], rtol: 0, atol: 0), $"{entry.Key} differs"));
        using var fresh = new CouplingFlow(TinyArtifacts.Flow());
        Assert.Contains(expected, entry => !entry.Value.allclose(fresh.state_dict()[entry.Key], rtol: 0, atol: 0)); // not what a new flow starts with
    }

    [Fact]
    public void Weights_of_another_width_are_refused_naming_the_tensor_and_both_shapes()
    {
        using var wider = new CouplingFlow(TinyArtifacts.Flow(hiddenWidth: 16));
        using var flow = new CouplingFlow(TinyArtifacts.Flow(hiddenWidth: 8));

        var error = Assert.Throws<ArgumentException>(() => StateDictReader.Load(flow, new MemoryStream(Saved(wider))));

        Assert.Contains("Mismatched shape of", error.Message, StringComparison.Ordinal);
        Assert.Contains("16", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Weights_cut_short_are_refused()
    {
        using var saved = new CouplingFlow(TinyArtifacts.Flow());
        var weights = Saved(saved);
        using var flow = new CouplingFlow(TinyArtifacts.Flow());

        Assert.Throws<EndOfStreamException>(() => StateDictReader.Load(flow, new MemoryStream(weights[..(weights.Length - 100)])));
    }
}
