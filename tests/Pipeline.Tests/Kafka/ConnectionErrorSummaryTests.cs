using Pipeline.Shared.Kafka;
using Pipeline.Tests.Scoring;
using Xunit;

namespace Pipeline.Tests.Kafka;

public sealed class ConnectionErrorSummaryTests
{
    private const string Refused = "127.0.0.1:9092/1: Connect to ipv4#127.0.0.1:9092 failed: Connection refused (Local_Transport)";
    private readonly ManualClock clock = new();
    private readonly ConnectionErrorSummary summary;

    public ConnectionErrorSummaryTests() => summary = new ConnectionErrorSummary(clock, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60));

    [Fact]
    public void An_outage_of_many_errors_gives_one_line_when_it_begins_and_one_when_the_errors_stop()
    {
        var lines = new List<ConnectionErrorNote>();
        // 86 errors a second for 25 s, as seen in one outage, with the owner's timer polling every second.
        for (var second = 0; second < 25; second++)
        {
            for (var i = 0; i < 86; i++)
            {
                if (summary.Failed(Refused) is { } note) lines.Add(note);
                clock.Advance(TimeSpan.FromMilliseconds(1000.0 / 86));
            }

            if (summary.Poll() is { } polled) lines.Add(polled);
        }

        for (var second = 0; second < 31; second++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            if (summary.Poll() is { } polled) lines.Add(polled);
        }

        Assert.Equal([ConnectionErrorState.Unreachable, ConnectionErrorState.Quiet], lines.Select(line => line.State));
        Assert.StartsWith("brokers unreachable: 127.0.0.1:9092/1: Connect to", lines[0].Text);
        Assert.Equal(25 * 86, lines[1].Errors);
        Assert.Equal(25, lines[1].Duration.TotalSeconds, 0.1);
        Assert.Contains($"reachable again after {25 * 86} connection errors in 25 s", lines[1].Text);
        Assert.False(summary.InOutage);
    }

    [Fact]
    public void A_long_outage_is_reminded_of_with_the_count_every_interval()
    {
        summary.Failed(Refused);
        var reminders = new List<ConnectionErrorNote>();
        for (var second = 1; second <= 150; second++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            summary.Failed(Refused);
            if (summary.Poll() is { } note) reminders.Add(note);
        }

        Assert.Equal([ConnectionErrorState.StillUnreachable, ConnectionErrorState.StillUnreachable], reminders.Select(note => note.State));
        Assert.Equal([61, 121], reminders.Select(note => note.Errors));
        Assert.Contains("61 connection errors in 60 s", reminders[0].Text);
    }

    [Fact]
    public void Errors_after_a_quiet_period_begin_a_new_outage_with_a_line_of_its_own()
    {
        summary.Failed(Refused);
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(ConnectionErrorState.Quiet, summary.Poll()?.State);

        var again = summary.Failed("1/1 brokers are down (Local_AllBrokersDown)");

        Assert.Equal(ConnectionErrorState.Unreachable, again?.State);
        Assert.Null(summary.Failed(Refused));
    }

    [Fact]
    public void Nothing_is_noted_without_errors()
    {
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Null(summary.Poll());
        Assert.False(summary.InOutage);
    }
}
