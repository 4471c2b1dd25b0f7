using Akka.Actor;

namespace Pipeline.Tests.Cluster;

/// <summary>Asks for a frame to be scored (stands in for the streaming protocol, which travels the same way).</summary>
public sealed record ScoreFrame(string FrameId);

/// <summary>The answer, naming the node that scored the frame.</summary>
public sealed record FrameScored(string FrameId, string ScoredBy);

/// <summary>Takes the place of the scoring entry actor: answers every frame with this node's address.</summary>
public sealed class ScoringStandIn : ReceiveActor
{
    public ScoringStandIn()
    {
        var self = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        Receive<ScoreFrame>(frame => Sender.Tell(new FrameScored(frame.FrameId, self)));
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new ScoringStandIn());
}
