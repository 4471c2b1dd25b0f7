using Pipeline.Ingest;
using Xunit;

namespace Pipeline.Tests.Ingest;

public class OrderedPublicationTests
{
    [Fact]
    public void A_later_frame_done_first_waits_until_the_earlier_frame_of_its_camera_is_done()
    {
        var publication = new OrderedPublication();
        publication.Read(1, "camera-1");
        publication.Read(2, "camera-1");
        publication.Read(3, "camera-1");

        Assert.Empty(publication.Done(3));
        Assert.Empty(publication.Done(2));
        Assert.Equal([1L, 2, 3], publication.Done(1));
    }

    [Fact]
    public void Frames_done_in_order_go_out_one_by_one()
    {
        var publication = new OrderedPublication();
        publication.Read(1, "camera-1");
        publication.Read(2, "camera-1");

        Assert.Equal([1L], publication.Done(1));
        Assert.Equal([2L], publication.Done(2));
    }

    [Fact]
    public void A_slow_frame_holds_back_its_own_camera_only()
    {
        var publication = new OrderedPublication();
        publication.Read(1, "camera-1"); // slow
        publication.Read(2, "camera-2");
        publication.Read(3, "camera-1");
        publication.Read(4, "camera-2");

        Assert.Equal([2L], publication.Done(2));
        Assert.Empty(publication.Done(3));
        Assert.Equal([4L], publication.Done(4));
        Assert.Equal([1L, 3], publication.Done(1));
    }

    [Fact]
    public void A_frame_without_a_camera_goes_out_as_soon_as_it_is_done_and_holds_back_nothing()
    {
        var publication = new OrderedPublication();
        publication.Read(1, "camera-1");
        publication.Read(2, camera: null);
        publication.Read(3, "camera-1");

        Assert.Equal([2L], publication.Done(2));
        Assert.Empty(publication.Done(3));
        Assert.Equal([1L, 3], publication.Done(1));
    }

    [Fact]
    public void A_frame_is_handed_out_once_even_when_it_is_done_twice()
    {
        var publication = new OrderedPublication();
        publication.Read(1, "camera-1");

        Assert.Equal([1L], publication.Done(1));
        Assert.Empty(publication.Done(1));
    }

    [Fact]
    public void A_camera_whose_frames_all_went_out_starts_afresh()
    {
        var publication = new OrderedPublication();
        publication.Read(1, "camera-1");
        Assert.Equal([1L], publication.Done(1));
        Publish(publication, 1);

        publication.Read(2, "camera-1");
        Assert.Equal([2L], publication.Done(2));
    }

    [Fact]
    public void An_outcome_is_published_once_every_message_of_its_attempt_is_acknowledged()
    {
        var publication = new OrderedPublication();
        publication.Read(1, "camera-1");
        publication.Done(1);
        var attempt = publication.Publishing(1, messages: 2); // results and anomalies

        Assert.Equal(PublicationState.Waiting, publication.Acknowledged(1, attempt, delivered: true));
        Assert.Equal(1, publication.Count);
        Assert.Equal(PublicationState.Published, publication.Acknowledged(1, attempt, delivered: true));
        Assert.Equal(0, publication.Count);
    }

    [Fact]
    public void One_refused_message_fails_the_attempt_once_all_are_answered_and_the_next_attempt_can_succeed()
    {
        var publication = new OrderedPublication();
        publication.Read(1, "camera-1");
        publication.Done(1);
        var first = publication.Publishing(1, messages: 2);

        Assert.Equal(PublicationState.Waiting, publication.Acknowledged(1, first, delivered: false));
        Assert.Equal(PublicationState.Failed, publication.Acknowledged(1, first, delivered: true));

        var second = publication.Publishing(1, messages: 2);
        Assert.NotEqual(first, second);
        Assert.Equal(PublicationState.Waiting, publication.Acknowledged(1, second, delivered: true));
        Assert.Equal(PublicationState.Published, publication.Acknowledged(1, second, delivered: true));
    }

    [Fact]
    public void Reports_of_an_earlier_attempt_are_stale_and_change_nothing()
    {
        var publication = new OrderedPublication();
        publication.Read(1, "camera-1");
        publication.Done(1);
        var first = publication.Publishing(1, messages: 1);
        var second = publication.Publishing(1, messages: 1); // the first attempt failed to start (Kafka threw)

        Assert.Equal(PublicationState.Stale, publication.Acknowledged(1, first, delivered: true));
        Assert.Equal(1, publication.Count);
        Assert.Equal(PublicationState.Published, publication.Acknowledged(1, second, delivered: true));
        Assert.Equal(PublicationState.Stale, publication.Acknowledged(1, second, delivered: true)); // repeated report
    }

    [Fact]
    public void A_ticket_read_twice_or_never_read_is_refused_with_a_sentence()
    {
        var publication = new OrderedPublication();
        publication.Read(1, "camera-1");

        Assert.Contains("read already", Assert.Throws<ArgumentException>(() => publication.Read(1, "camera-1")).Message);
        Assert.Contains("not awaiting publication", Assert.Throws<ArgumentException>(() => publication.Done(7)).Message);
    }

    private static void Publish(OrderedPublication publication, long ticket) =>
        Assert.Equal(PublicationState.Published, publication.Acknowledged(ticket, publication.Publishing(ticket, messages: 1), delivered: true));
}
