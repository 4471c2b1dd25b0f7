using Confluent.Kafka;
using Pipeline.Shared.Kafka;

namespace Pipeline.Simulation;

/// <summary>
/// librdkafka's built-in mock Kafka cluster, in this process: brokers that speak the real Kafka protocol
/// on 127.0.0.1 TCP ports, so ordinary Confluent.Kafka producers and consumers (idempotence, consumer
/// groups, commits) talk to it unchanged through <see cref="BootstrapServers"/>.
/// </summary>
/// <remarks>
/// <para>
/// For tests and demos only, never storage: each partition keeps only about 5 MB (and a bounded number
/// of message sets); older messages are silently dropped. Size test traffic accordingly, or consume as
/// it is produced. Nothing outside tests and demos may depend on this type; production configures
/// a real cluster through <see cref="KafkaOptions"/>.
/// </para>
/// <para>
/// Brokers have ids 1 to <see cref="BrokerCount"/>. Consumer groups form at once (the group initial
/// rebalance delay is 0, unlike a real broker's 3 s). Dispose the clients that use the cluster before
/// the cluster itself, or they log connection errors until they are disposed.
/// </para>
/// </remarks>
public sealed class MockKafkaCluster : IDisposable
{
    private readonly LoadedLibrdkafka _library;
    private readonly Lock _gate = new();
    private nint _handle;
    private nint _cluster;

    private MockKafkaCluster(LoadedLibrdkafka library, nint handle, nint cluster, int brokers)
    {
        _library = library;
        _handle = handle;
        _cluster = cluster;
        BrokerCount = brokers;
        BootstrapServers = library.MockClusterBootstraps(cluster);
    }

    /// <summary>"127.0.0.1:port,..." for the clients' <c>bootstrap.servers</c>.</summary>
    public string BootstrapServers { get; }

    public int BrokerCount { get; }

    /// <summary>Starts a mock cluster of <paramref name="brokers"/> brokers.</summary>
    public static MockKafkaCluster Start(int brokers = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        var library = LoadedLibrdkafka.Instance;
        var handle = library.NewProducerHandle(new Dictionary<string, string>
        {
            ["client.id"] = "mock-kafka-cluster",
            // The handle itself never connects; spare the notice that it has no bootstrap.servers.
            ["log_level"] = "4",
        });
        var cluster = library.MockClusterNew(handle, brokers);
        if (cluster == 0)
        {
            library.DestroyHandle(handle);
            throw new InvalidOperationException(
                $"librdkafka ({library.Path}) could not start a mock cluster of {brokers} brokers; " +
                "its log (standard error) says why, typically that no local TCP port could be bound.");
        }

        library.MockGroupInitialRebalanceDelay(cluster, 0);
        return new MockKafkaCluster(library, handle, cluster, brokers);
    }

    /// <summary>Creates <paramref name="name"/> with the given partitions and replicas (at most <see cref="BrokerCount"/>).</summary>
    public void CreateTopic(string name, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicationFactor, BrokerCount);
        var error = WithCluster(cluster => _library.MockTopicCreate(cluster, name, partitions, replicationFactor));
        ThrowIfError(error, $"create topic '{name}' ({partitions} partitions, replication factor {replicationFactor})");
    }

    /// <summary>
    /// Takes broker <paramref name="brokerId"/> down: its connections are closed and new ones refused
    /// until <see cref="SetBrokerUp"/>. Partition leadership does not move; clients retry.
    /// </summary>
    public void SetBrokerDown(int brokerId)
    {
        CheckBrokerId(brokerId);
        ThrowIfError(WithCluster(cluster => _library.MockBrokerSetDown(cluster, brokerId)), $"take broker {brokerId} down");
    }

    /// <summary>Brings broker <paramref name="brokerId"/> back after <see cref="SetBrokerDown"/>.</summary>
    public void SetBrokerUp(int brokerId)
    {
        CheckBrokerId(brokerId);
        ThrowIfError(WithCluster(cluster => _library.MockBrokerSetUp(cluster, brokerId)), $"bring broker {brokerId} up");
    }

    /// <summary>Stops the brokers and frees the cluster; what it held is gone.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_cluster == 0)
            {
                return;
            }

            _library.MockClusterDestroy(_cluster);
            _library.DestroyHandle(_handle);
            (_cluster, _handle) = (0, 0);
        }
    }

    /// <summary>Runs a native call on the cluster; holding the lock keeps <see cref="Dispose"/> from freeing it meanwhile.</summary>
    private T WithCluster<T>(Func<nint, T> call)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_cluster == 0, this);
            return call(_cluster);
        }
    }

    private void CheckBrokerId(int brokerId)
    {
        if (brokerId < 1 || brokerId > BrokerCount)
        {
            throw new ArgumentOutOfRangeException(
                nameof(brokerId), brokerId, $"The mock cluster's brokers have ids 1 to {BrokerCount}.");
        }
    }

    private static void ThrowIfError(ErrorCode error, string action)
    {
        if (error != ErrorCode.NoError)
        {
            throw new InvalidOperationException($"The mock Kafka cluster could not {action}: {error.GetReason()} ({error}).");
        }
    }
}
