using System.Text;
using Confluent.Kafka;
using Pipeline.Shared.Kafka;
using Xunit;

namespace Pipeline.Tests.Kafka;

public class DeadLettersTests
{
    private static readonly DateTimeOffset At = new(2025, 3, 1, 9, 0, 0, TimeSpan.FromHours(1));

    private static ConsumeResult<string, byte[]> Consumed(Message<string, byte[]> message) => new()
    {
        TopicPartitionOffset = new TopicPartitionOffset("frames", 4, 1234),
        Message = message,
    };

    private static string Header(Message<string, byte[]> message, string name) =>
        Encoding.UTF8.GetString(message.Headers.GetLastBytes(name));

    [Fact]
    public void A_dead_letter_carries_the_original_key_bytes_and_headers_with_the_reason()
    {
        var image = new byte[] { 0xff, 0xd8, 0x00, 0x13, 0x37 };
        var frame = FrameHeaders.CreateMessage(
            new FrameMetadata("f-9", "cam-2", DateTimeOffset.UnixEpoch, FrameContentTypes.Jpeg, FrameLabel.Defect), image);

        var deadLetter = DeadLetters.Create(Consumed(frame), DeadLetterReasons.UndecodableImage, "JPEG data ends after 5 bytes.", At);

        Assert.Equal("cam-2", deadLetter.Key);
        Assert.Equal(image, deadLetter.Value);
        foreach (var original in frame.Headers)
        {
            Assert.Equal(original.GetValueBytes(), deadLetter.Headers.GetLastBytes(original.Key));
        }

        Assert.Equal("undecodable-image", Header(deadLetter, DeadLetters.ReasonHeader));
        Assert.Equal("JPEG data ends after 5 bytes.", Header(deadLetter, DeadLetters.DetailHeader));
        Assert.Equal("frames/4/1234", Header(deadLetter, DeadLetters.SourceHeader));
        Assert.Equal("2025-03-01T08:00:00.0000000+00:00", Header(deadLetter, DeadLetters.AtHeader));
        Assert.Equal(frame.Headers.Count + 4, deadLetter.Headers.Count);
    }

    [Fact]
    public void A_frame_refused_for_its_headers_is_dead_lettered_with_that_reason()
    {
        var frame = new Message<string, byte[]> { Key = "cam-2", Value = [1, 2], Headers = [] };
        var rejection = FrameHeaders.Parse(frame.Headers, frame.Key).Rejection!;

        var deadLetter = DeadLetters.Create(Consumed(frame), rejection, At);

        Assert.Equal(DeadLetterReasons.MissingHeader, Header(deadLetter, DeadLetters.ReasonHeader));
        Assert.Equal(rejection.Detail, Header(deadLetter, DeadLetters.DetailHeader));
    }

    [Fact]
    public void A_dead_letter_leaves_out_the_key_and_headers_that_were_over_their_limit_and_keeps_the_rest()
    {
        var camera = new string('c', 1024 * 1024);
        var frame = FrameHeaders.CreateMessage(new FrameMetadata("f-9", camera, DateTimeOffset.UnixEpoch, FrameContentTypes.Jpeg), [1, 2, 3]);
        var rejection = FrameHeaders.Parse(frame.Headers, frame.Key).Rejection!;

        var deadLetter = DeadLetters.Create(Consumed(frame), rejection, At);

        Assert.Null(deadLetter.Key);
        Assert.Equal([1, 2, 3], deadLetter.Value);
        Assert.False(deadLetter.Headers.TryGetLastBytes(FrameHeaderNames.CameraId, out _));
        Assert.Equal("f-9", Header(deadLetter, FrameHeaderNames.FrameId));
        Assert.Equal(FrameContentTypes.Jpeg, Header(deadLetter, FrameHeaderNames.ContentType));
        Assert.Equal(DeadLetterReasons.InvalidHeader, Header(deadLetter, DeadLetters.ReasonHeader));
        Assert.True(deadLetter.Headers.Sum(h => h.Key.Length + (h.GetValueBytes()?.Length ?? 0)) < 1000, "the dead letter still carries a large value");
    }

    [Fact]
    public void A_dead_letter_of_a_dead_letter_replaces_the_old_reason()
    {
        var first = DeadLetters.Create(
            Consumed(new Message<string, byte[]> { Key = "cam-2", Value = [1], Headers = [] }), DeadLetterReasons.Oversized, "too big", At);

        var second = DeadLetters.Create(Consumed(first), DeadLetterReasons.UndecodableImage, "not an image", At);

        Assert.Single(second.Headers, h => h.Key == DeadLetters.ReasonHeader);
        Assert.Equal("undecodable-image", Header(second, DeadLetters.ReasonHeader));
        Assert.Equal(4, second.Headers.Count);
    }

    [Fact]
    public void A_frame_without_key_or_headers_can_be_dead_lettered()
    {
        var deadLetter = DeadLetters.Create(
            Consumed(new Message<string, byte[]> { Key = null!, Value = [7] }), DeadLetterReasons.MissingKey, "no key");

        Assert.Null(deadLetter.Key);
        Assert.Equal([7], deadLetter.Value);
        Assert.True(DateTimeOffset.UtcNow - DateTimeOffset.Parse(Header(deadLetter, DeadLetters.AtHeader)) < TimeSpan.FromMinutes(1));
    }
}
