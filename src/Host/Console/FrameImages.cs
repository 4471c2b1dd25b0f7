using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Pipeline.Shared.Kafka;

namespace Pipeline.Host.OperatorConsole;

/// <summary>A frame's image as it came from the camera.</summary>
public sealed record FrameImage(byte[] Bytes, string ContentType);

/// <summary>Why a frame's image could not be read.</summary>
public enum FrameImageProblem
{
    None,

    /// <summary>The offset is no longer on the topic (retention) or not there yet.</summary>
    Gone,

    /// <summary>The message at the offset is another frame (its <c>frame-id</c> header differs).</summary>
    OtherFrame,

    /// <summary>Kafka did not answer in time.</summary>
    Timeout,
}

/// <summary>
/// Reads a frame's image from the frames topic by the result's <c>source_partition</c> / <c>source_offset</c>, and checks
/// the message's <c>frame-id</c> header is the frame asked for. Nothing is stored: the frames topic already retains the
/// images for its retention, so a second copy would only be a second store to bound. One assigned consumer (no group
/// membership, no commits), used by one request at a time; the same consumer answers the high watermarks the health page
/// needs.
/// </summary>
internal sealed class FrameImages : IDisposable
{
    private readonly ConsoleKafka kafka;
    private readonly TimeSpan timeout;
    private readonly SemaphoreSlim turn = new(1, 1);
    private readonly Lazy<IConsumer<string, byte[]>> consumer;

    public FrameImages(ConsoleKafka kafka, ConsoleOptions options, ILogger<FrameImages> log)
    {
        this.kafka = kafka;
        timeout = TimeSpan.FromSeconds(options.FrameFetchTimeoutSeconds);
        consumer = new Lazy<IConsumer<string, byte[]>>(() => KafkaClients.CreateConsumer(kafka.Options.WithConsumerGroup(kafka.Options.ConsumerGroup + "-images"), log));
    }

    /// <summary>The image of <paramref name="frameId"/> at <paramref name="partition"/>/<paramref name="offset"/> of the frames topic.</summary>
    public async Task<(FrameImage? Image, FrameImageProblem Problem)> ReadAsync(int partition, long offset, string frameId, CancellationToken cancellation)
    {
        await turn.WaitAsync(cancellation);
        try
        {
            return await Task.Run(() => Read(partition, offset, frameId, cancellation), cancellation);
        }
        finally
        {
            turn.Release();
        }
    }

    /// <summary>The high watermark of each partition of <paramref name="topic"/> (null for a partition that did not answer).</summary>
    public async Task<IReadOnlyDictionary<int, long?>> HighWatermarksAsync(string topic, IReadOnlyList<int> partitions, CancellationToken cancellation)
    {
        await turn.WaitAsync(cancellation);
        try
        {
            return await Task.Run(() => partitions.ToDictionary(p => p, p =>
            {
                try
                {
                    return (long?)consumer.Value.QueryWatermarkOffsets(new TopicPartition(topic, p), timeout).High.Value;
                }
                catch (KafkaException)
                {
                    return null;
                }
            }), cancellation);
        }
        finally
        {
            turn.Release();
        }
    }

    private (FrameImage?, FrameImageProblem) Read(int partition, long offset, string frameId, CancellationToken cancellation)
    {
        var reader = consumer.Value;
        var topicPartition = new TopicPartition(kafka.Options.Topics.Frames, partition);
        reader.Assign(new TopicPartitionOffset(topicPartition, offset));
        try
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline && !cancellation.IsCancellationRequested)
            {
                ConsumeResult<string, byte[]>? message;
                try
                {
                    message = reader.Consume(TimeSpan.FromMilliseconds(200));
                }
                catch (ConsumeException e) when (!e.Error.IsFatal)
                {
                    if (e.Error.Code == ErrorCode.OffsetOutOfRange) return (null, FrameImageProblem.Gone);
                    continue;
                }

                if (message is null) continue;
                if (message.IsPartitionEOF) return (null, FrameImageProblem.Gone);
                if (message.Offset.Value != offset) return (null, FrameImageProblem.Gone); // the offset itself was removed
                var id = Header(message.Message.Headers, FrameHeaderNames.FrameId);
                if (!string.Equals(id, frameId, StringComparison.Ordinal)) return (null, FrameImageProblem.OtherFrame);
                // Only an image type is passed on to the browser, whatever the header says.
                var type = Header(message.Message.Headers, FrameHeaderNames.ContentType) is { } said && FrameContentTypes.All.Contains(said) ? said : "application/octet-stream";
                return (new FrameImage(message.Message.Value, type), FrameImageProblem.None);
            }
            return (null, FrameImageProblem.Timeout);
        }
        finally
        {
            reader.Unassign();
        }
    }

    private static string? Header(Headers? headers, string name) =>
        headers is not null && headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : null;

    public void Dispose()
    {
        if (consumer.IsValueCreated)
        {
            consumer.Value.Close();
            consumer.Value.Dispose();
        }
        turn.Dispose();
    }
}
