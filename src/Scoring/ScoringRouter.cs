using Akka.Actor;
using Akka.Event;
using Pipeline.Shared.Scoring;

namespace Pipeline.Scoring;

/// <summary>
/// A node's entry point for scoring: starts and supervises one <see cref="DeviceScoringActor"/> per device, hands
/// frames to them in turn (the device answers the requester directly), gives every device each
/// <see cref="LoadModel"/>, and answers <see cref="GetScoringStatus"/> with a <see cref="ScoringNodeStatus"/>. Whether the
/// node's models are in step with the training side (<see cref="ScoringNodeStatus.ModelsInStep"/>) its
/// <see cref="ModelFollower"/> tells it (<see cref="ModelsInStep"/>); a node whose models are only configured (no
/// follower) is always in step.
/// <para>
/// Supervision: a scorer that throws is restarted (it answers the frames it held and reloads its model); one that
/// fails to start (bad options) or throws more than <see cref="MaxRestarts"/> times a minute is stopped and leaves
/// the rotation. With no scorer left, frames are answered <see cref="ScoringFailureKind.Interrupted"/>.
/// </para>
/// </summary>
public sealed class ScoringRouter : ReceiveActor
{
    public const int MaxRestarts = 5;
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(5);

    private readonly List<IActorRef> scorers = [];
    private readonly ILoggingAdapter log = Context.GetLogger();
    private int next;
    private bool modelsInStep;

    public ScoringRouter(IReadOnlyList<(string Device, Props Props)> devices, bool followsTraining)
    {
        modelsInStep = !followsTraining;
        for (var i = 0; i < devices.Count; i++)
        {
            var scorer = Context.ActorOf(devices[i].Props, $"scorer-{i}-{devices[i].Device.Replace(':', '-')}");
            Context.Watch(scorer);
            scorers.Add(scorer);
        }

        Receive<ScoreFrame>(Route);
        Receive<LoadModel>(request => scorers.ForEach(scorer => scorer.Forward(request)));
        Receive<GetScoringStatus>(_ => AnswerStatus());
        Receive<ModelsInStep>(inStep => modelsInStep = inStep.InStep);
        Receive<Terminated>(Remove);
    }

    /// <param name="devices">Each device's name and its scorer's props (see <see cref="ScoringActors"/>).</param>
    /// <param name="followsTraining">Whether a <see cref="ModelFollower"/> keeps the node's models: then it is not in step until the follower says so.</param>
    public static Props Props(IReadOnlyList<(string Device, Props Props)> devices, bool followsTraining = false) =>
        Akka.Actor.Props.Create(() => new ScoringRouter(devices, followsTraining));

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(MaxRestarts, TimeSpan.FromMinutes(1), error =>
            error is ActorInitializationException ? Directive.Stop : Directive.Restart);

    private void Route(ScoreFrame request)
    {
        if (scorers.Count == 0)
        {
            Sender.Tell(new ScoringFailed(request.FrameId, request.CameraId, ScoringFailureKind.Interrupted,
                "This node has no working scorer (all stopped after errors; see its log); send the frame to another node.", request.Correlation));
            return;
        }
        next %= scorers.Count;
        scorers[next++].Forward(request);
    }

    private void AnswerStatus()
    {
        var asks = scorers.Select(scorer => scorer.Ask<ScoringStatus>(GetScoringStatus.Instance, StatusTimeout));
        var inStep = modelsInStep;
        Task.WhenAll(asks).PipeTo(Sender, success: statuses => new ScoringNodeStatus(statuses, inStep));
    }

    private void Remove(Terminated terminated)
    {
        scorers.Remove(terminated.ActorRef);
        log.Error("Scorer {0} stopped; {1} scorer(s) remain on this node", terminated.ActorRef.Path.Name, scorers.Count);
    }
}

/// <summary>
/// From a node's <see cref="ModelFollower"/> to its <see cref="ScoringRouter"/>: whether the node serves every product's
/// current version the training side named (each loaded, or refused for a reason). Never leaves the node.
/// </summary>
public sealed record ModelsInStep(bool InStep);
