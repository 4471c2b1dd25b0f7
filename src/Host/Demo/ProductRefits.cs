using Akka.Actor;
using Pipeline.Shared.Training;

namespace Pipeline.Host.Demo;

/// <summary>
/// The demo's refits with several products (<c>--products N --refit-after M</c>): once a product has M new good
/// samples stored, the demo asks the training singleton to refit that product's flow (<see cref="RequestRefit"/>, as
/// <c>POST /training/refit?product=</c> does), one product after the other, so that each product's new version is
/// swapped in mid-stream while the other products keep theirs.
/// </summary>
public static class ProductRefits
{
    /// <summary>How often each waiting product's training status is read.</summary>
    private static readonly TimeSpan StatusEvery = TimeSpan.FromMilliseconds(250);

    /// <summary>Refits every product once, as each becomes due; returns when all have run or <paramref name="streamDone"/> is cancelled.</summary>
    public static async Task RunWhenDueAsync(IActorRef training, IReadOnlyList<string> products, int refitAfter, Action<string> report, CancellationToken streamDone)
    {
        var waiting = products.ToList();
        try
        {
            while (waiting.Count > 0)
            {
                foreach (var product in waiting.ToArray())
                {
                    var status = await training.Ask<TrainingStatus>(new GetTrainingStatus(product), TimeSpan.FromSeconds(30), streamDone);
                    if (status.NewGoodSamples < refitAfter) continue;
                    report($"refit of {product}: {status.NewGoodSamples} new good samples stored; asking the training role");
                    var finished = await training.Ask<RefitFinished>(new RequestRefit("demo", product), TimeSpan.FromMinutes(10), streamDone);
                    report(finished.Published ? $"refit of {product} published {finished.Version}: {finished.Summary}" : $"refit of {product} rejected: {finished.Summary}");
                    waiting.Remove(product);
                }
                if (waiting.Count > 0) await Task.Delay(StatusEvery, streamDone);
            }
        }
        catch (OperationCanceledException) when (streamDone.IsCancellationRequested)
        {
            report($"the stream ended before {string.Join(", ", waiting)} had {refitAfter} new good samples and a refit");
        }
    }
}
