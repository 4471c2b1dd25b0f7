using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Pipeline.Shared.Configuration;
using Pipeline.Tests.Cluster;
using Xunit;

namespace Pipeline.Tests.Console;

/// <summary>An open console page does not hold a node's shutdown: its event stream ends when the node stops.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ConsoleShutdownTests
{
    [Fact]
    public async Task A_node_with_a_page_listening_stops_promptly_and_ends_the_pages_event_stream()
    {
        var node = new ConsoleNode();
        await node.InitializeAsync();
        try
        {
            using var http = node.Client(node.Token(AccessRoles.Viewer));
            http.Timeout = Timeout.InfiniteTimeSpan;
            using var events = await http.GetAsync("/console/events", HttpCompletionOption.ResponseHeadersRead);
            using var stream = new StreamReader(await events.Content.ReadAsStreamAsync());
            Assert.Equal("event: snapshot", await stream.ReadLineAsync());
            var rest = stream.ReadToEndAsync();

            var clock = Stopwatch.StartNew();
            using (var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
                await node.Node.StopAsync(patience.Token);

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the node took {clock.Elapsed.TotalSeconds:0.0} s to stop with a page listening");
            try
            {
                // Ended is what counts, cleanly or by the connection closing.
                await rest.ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                Assert.Fail("the page's event stream is still open 10 s after the node stopped");
            }
        }
        finally
        {
            await node.DisposeAsync();
        }
    }
}
