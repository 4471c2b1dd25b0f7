using System.Diagnostics;
using Pipeline.Shared.Model;
using Pipeline.Shared.Progress;
using static TorchSharp.torch;

namespace Pipeline.Training;

/// <summary>Mean loss of each epoch of a flow fit, and the learning rate of each epoch's last step.</summary>
public sealed record FlowFitHistory(IReadOnlyList<double> EpochLosses, IReadOnlyList<double> EpochFinalLearningRates, double Seconds)
{
    public double FinalLoss => EpochLosses.Count > 0 ? EpochLosses[^1] : double.NaN;
}

/// <summary>
/// Fits a coupling flow to cached feature vectors with DifferNet's loss and optimiser (Adam with
/// β = (0.8, 0.8), ε = 1e-4, weight decay 1e-5 by default), the learning rate following
/// <see cref="TrainingOptions.LearningRateSchedule"/>. The backbone is never involved.
/// </summary>
public static class FlowTrainer
{
    /// <param name="flow">The flow to train in place (fresh, or the serving one for a warm start), on its device.</param>
    /// <param name="features">Training feature vectors <c>[N, D]</c>.</param>
    /// <param name="afterEpoch">Called after each epoch with its number (1-based), the flow in evaluation mode meanwhile.</param>
    public static FlowFitHistory Fit(
        CouplingFlow flow,
        Tensor features,
        TrainingOptions options,
        IWorkProgressSink progress,
        Action<int>? afterEpoch = null,
        CancellationToken cancellation = default)
    {
        var device = flow.parameters().First().device;
        var count = features.shape[0];
        if (count < 2) throw new ArgumentException($"A flow needs at least 2 feature vectors to train on, got {count}.");
        using var data = features.to(device);
        using var optimizer = optim.Adam(flow.parameters(), options.LearningRate, options.Beta1, options.Beta2, options.AdamEpsilon, options.WeightDecay);
        var generator = new TorchSharp.torch.Generator((ulong)options.Seed);
        var losses = new List<double>(options.Epochs);
        var rates = new List<double>(options.Epochs);
        var stepsPerEpoch = count / options.BatchSize + (count % options.BatchSize >= 2 ? 1 : 0);
        var totalSteps = stepsPerEpoch * options.Epochs;
        long step = 0;
        var stopwatch = Stopwatch.StartNew();
        flow.train();
        progress.Report(new WorkProgress("flow training (epochs)", 0, options.Epochs));
        try
        {
            for (var epoch = 0; epoch < options.Epochs; epoch++)
            {
                cancellation.ThrowIfCancellationRequested();
                double lossSum = 0;
                long batches = 0;
                double rate = options.LearningRate;
                using (var order = randperm(count, generator: generator).to(device))
                {
                    for (long start = 0; start < count; start += options.BatchSize)
                    {
                        using var scope = NewDisposeScope();
                        var length = Math.Min(options.BatchSize, count - start);
                        if (length < 2) continue; // a single leftover vector adds noise, not information
                        var batch = data.index_select(0, order.narrow(0, start, length));
                        rate = LearningRateSchedules.RateAt(options.LearningRateSchedule, options.LearningRate, step++, totalSteps);
                        foreach (var group in optimizer.ParamGroups) group.LearningRate = rate;
                        optimizer.zero_grad();
                        var (z, logDeterminant) = flow.call(batch);
                        var loss = CouplingFlow.NegativeLogLikelihood(z, logDeterminant);
                        var value = loss.item<float>();
                        if (!float.IsFinite(value))
                            throw new InvalidOperationException($"The flow's loss became {value} in epoch {epoch + 1}; lower the learning rate or check the features.");
                        loss.backward();
                        optimizer.step();
                        lossSum += value;
                        batches++;
                    }
                }
                var epochLoss = lossSum / Math.Max(1, batches);
                losses.Add(epochLoss);
                rates.Add(rate);
                progress.Report(new WorkProgress("flow training (epochs)", epoch + 1, options.Epochs, $"loss {epochLoss:0.0000}, learning rate {rate:0.00e0}"));
                if (afterEpoch is not null)
                {
                    flow.eval();
                    afterEpoch(epoch + 1);
                    flow.train();
                }
            }
        }
        finally
        {
            flow.eval();
        }
        return new FlowFitHistory(losses, rates, stopwatch.Elapsed.TotalSeconds);
    }
}
