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
/// images for its retention, so a second copy would only be a second store to bound. A few assigned consumers (no group
/// membership, no commits; <see cref="Readers"/> at most, made when first needed), each used by one request at a time;
/// they also answer the high watermarks the health page needs.
/// </summary>
internal sealed class FrameImages : IDisposable
{
    private readonly ConsoleKafka kafka;
    private readonly TimeSpan timeout;
    /// <summary>Requests for images served at once (a page asks for every card's image when it opens).</summary>
    public const int Readers = 4;

    private readonly ILogger log;
    private readonly SemaphoreSlim turn = new(Readers, Readers);
    private readonly System.Collections.Concurrent.ConcurrentBag<IConsumer<string, byte[]>> idle = [];
    private readonly List<IConsumer<string, byte[]>> made = [];

    public FrameImages(ConsoleKafka kafka, ConsoleOptions options, ILogger<FrameImages> log)
    {
        this.kafka = kafka;
        this.log = log;
        timeout = TimeSpan.FromSeconds(options.FrameFetchTimeoutSeconds);
    }

    /// <summary>Runs <paramref name="work"/> with a reader of its own, off the caller's thread.</summary>
    private async Task<T> WithReaderAsync<T>(Func<IConsumer<string, byte[]>, T> work, CancellationToken cancellation)
    {
        await turn.WaitAsync(cancellation);
        IConsumer<string, byte[]>? reader = null;
        try
        {
            if (!idle.TryTake(out reader))
            {
                reader = KafkaClients.CreateConsumer(kafka.Options.WithConsumerGroup(kafka.Options.ConsumerGroup + "-images"), log);
                lock (made) made.Add(reader);
            }
            var taken = reader;
            return await Task.Run(() => work(taken), cancellation);
        }
        finally
        {
            if (reader is not null) idle.Add(reader);
            turn.Release();
        }
    }

    /// <summary>The image of <paramref name="frameId"/> at <paramref name="partition"/>/<paramref name="offset"/> of the frames topic.</summary>
    public Task<(FrameImage? Image, FrameImageProblem Problem)> ReadAsync(int partition, long offset, string frameId, CancellationToken cancellation) =>
        WithReaderAsync(reader => Read(reader, partition, offset, frameId, cancellation), cancellation);

    /// <summary>The high watermark of each partition of <paramref name="topic"/> (null for a partition that did not answer).</summary>
    public Task<IReadOnlyDictionary<int, long?>> HighWatermarksAsync(string topic, IReadOnlyList<int> partitions, CancellationToken cancellation) =>
        WithReaderAsync<IReadOnlyDictionary<int, long?>>(reader => partitions.ToDictionary(p => p, p =>
        {
            try
            {
                return (long?)reader.QueryWatermarkOffsets(new TopicPartition(topic, p), timeout).High.Value;
            }
            catch (KafkaException)
            {
                return null;
            }
        }), cancellation);

    private (FrameImage?, FrameImageProblem) Read(IConsumer<string, byte[]> reader, int partition, long offset, string frameId, CancellationToken cancellation)
    {
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
                var id = HeaderText.Of(message.Message.Headers, FrameHeaderNames.FrameId);
                if (!string.Equals(id, frameId, StringComparison.Ordinal)) return (null, FrameImageProblem.OtherFrame);
                // Only an image type is passed on to the browser, whatever the header says.
                var type = HeaderText.Of(message.Message.Headers, FrameHeaderNames.ContentType) is { } said && FrameContentTypes.All.Contains(said) ? said : "application/octet-stream";
                return (new FrameImage(message.Message.Value, type), FrameImageProblem.None);
            }
            return (null, FrameImageProblem.Timeout);
        }
        finally
        {
            reader.Unassign();
        }
    }

    public void Dispose()
    {
        lock (made)
        {
            foreach (var reader in made) reader.Dispose();
            made.Clear();
        }
        turn.Dispose();
    }
}
