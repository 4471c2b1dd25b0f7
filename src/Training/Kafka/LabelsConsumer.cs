using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Pipeline.Shared.Kafka;

namespace Pipeline.Training.Kafka;

/// <summary>
/// Reads the labels topic (<see cref="LabelFeedback"/>: <c>frame-id → good/defect</c>, published after the fact by an
/// operator or a downstream system) on a thread of its own and hands each label on; commits after handing on. An
/// unreadable label is logged and skipped. Runs on the training singleton's node only, so each label is read once.
/// </summary>
public sealed class LabelsConsumer : IDisposable
{
    private readonly CancellationTokenSource stopping = new();
    private readonly Thread thread;

    /// <param name="onLabel">Called on the consumer's thread for every label (tell an actor; do not block).</param>
    public LabelsConsumer(KafkaOptions options, Action<LabelFeedback> onLabel, ILogger logger)
    {
        var group = options.WithConsumerGroup($"{options.ConsumerGroup}-training-labels");
        var topic = options.Topics.Labels;
        thread = new Thread(() => Run(group, topic, onLabel, logger)) { IsBackground = true, Name = "labels consumer" };
        thread.Start();
    }

    private void Run(KafkaOptions options, string topic, Action<LabelFeedback> onLabel, ILogger logger)
    {
        using var consumer = KafkaClients.CreateConsumer(options, logger);
        consumer.Subscribe(topic);
        logger.LogInformation("Reading labels from topic {Topic} (group {Group})", topic, options.ConsumerGroup);
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                ConsumeResult<string, byte[]>? result;
                try
                {
                    result = consumer.Consume(stopping.Token);
                }
                catch (ConsumeException e)
                {
                    logger.LogWarning("Reading the labels topic {Topic} failed: {Reason}; trying again", topic, e.Error.Reason);
                    continue;
                }
                if (result?.Message is null) continue;
                try
                {
                    onLabel(InspectionEvents.DeserializeLabelFeedback(result.Message.Value));
                }
                catch (EventFormatException e)
                {
                    logger.LogWarning("Skipped an unreadable label at {Topic} {Partition}@{Offset}: {Reason}", topic, result.Partition.Value, result.Offset.Value, e.Message);
                }
                consumer.Commit(result);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            consumer.Close();
        }
    }

    public void Dispose()
    {
        stopping.Cancel();
        thread.Join(TimeSpan.FromSeconds(10));
        stopping.Dispose();
    }
}
