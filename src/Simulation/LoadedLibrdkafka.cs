using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;
using Pipeline.Shared.Kafka;

namespace Pipeline.Simulation;

/// <summary>
/// The librdkafka functions that Confluent.Kafka does not wrap (the mock cluster), called in the very
/// native library file that Confluent.Kafka loaded. Two copies of librdkafka in one process would
/// each have their own globals; and on Debian 12 the package's plain <c>librdkafka.so</c> does not even
/// load (it needs <c>libsasl2.so.3</c>), so Confluent.Kafka falls back to <c>centos8-librdkafka.so</c>.
/// Rather than repeat that choice, this lets Confluent.Kafka load its library first, then finds the
/// file in the process's memory map and takes the exports from it.
/// </summary>
internal sealed unsafe class LoadedLibrdkafka
{
    private const int ErrorTextBytes = 512;
    private const int ProducerType = 0; // RD_KAFKA_PRODUCER
    private const int ConfOk = 0; // RD_KAFKA_CONF_OK

    private static readonly Lazy<LoadedLibrdkafka> Shared = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly delegate* unmanaged[Cdecl]<nint> _confNew;
    private readonly delegate* unmanaged[Cdecl]<nint, byte*, byte*, byte*, nuint, int> _confSet;
    private readonly delegate* unmanaged[Cdecl]<nint, void> _confDestroy;
    private readonly delegate* unmanaged[Cdecl]<int, nint, byte*, nuint, nint> _new;
    private readonly delegate* unmanaged[Cdecl]<nint, void> _destroy;
    private readonly delegate* unmanaged[Cdecl]<int> _version;
    private readonly delegate* unmanaged[Cdecl]<nint, int, nint> _mockClusterNew;
    private readonly delegate* unmanaged[Cdecl]<nint, void> _mockClusterDestroy;
    private readonly delegate* unmanaged[Cdecl]<nint, byte*> _mockClusterBootstraps;
    private readonly delegate* unmanaged[Cdecl]<nint, byte*, int, int, int> _mockTopicCreate;
    private readonly delegate* unmanaged[Cdecl]<nint, int, int> _mockBrokerSetDown;
    private readonly delegate* unmanaged[Cdecl]<nint, int, int> _mockBrokerSetUp;
    private readonly delegate* unmanaged[Cdecl]<nint, int, void> _mockGroupInitialRebalanceDelayMs;

    private LoadedLibrdkafka(string path, nint handle)
    {
        Path = path;
        _confNew = (delegate* unmanaged[Cdecl]<nint>)Export(handle, path, "rd_kafka_conf_new");
        _confSet = (delegate* unmanaged[Cdecl]<nint, byte*, byte*, byte*, nuint, int>)Export(handle, path, "rd_kafka_conf_set");
        _confDestroy = (delegate* unmanaged[Cdecl]<nint, void>)Export(handle, path, "rd_kafka_conf_destroy");
        _new = (delegate* unmanaged[Cdecl]<int, nint, byte*, nuint, nint>)Export(handle, path, "rd_kafka_new");
        _destroy = (delegate* unmanaged[Cdecl]<nint, void>)Export(handle, path, "rd_kafka_destroy");
        _version = (delegate* unmanaged[Cdecl]<int>)Export(handle, path, "rd_kafka_version");
        _mockClusterNew = (delegate* unmanaged[Cdecl]<nint, int, nint>)Export(handle, path, "rd_kafka_mock_cluster_new");
        _mockClusterDestroy = (delegate* unmanaged[Cdecl]<nint, void>)Export(handle, path, "rd_kafka_mock_cluster_destroy");
        _mockClusterBootstraps = (delegate* unmanaged[Cdecl]<nint, byte*>)Export(handle, path, "rd_kafka_mock_cluster_bootstraps");
        _mockTopicCreate = (delegate* unmanaged[Cdecl]<nint, byte*, int, int, int>)Export(handle, path, "rd_kafka_mock_topic_create");
        _mockBrokerSetDown = (delegate* unmanaged[Cdecl]<nint, int, int>)Export(handle, path, "rd_kafka_mock_broker_set_down");
        _mockBrokerSetUp = (delegate* unmanaged[Cdecl]<nint, int, int>)Export(handle, path, "rd_kafka_mock_broker_set_up");
        _mockGroupInitialRebalanceDelayMs = (delegate* unmanaged[Cdecl]<nint, int, void>)Export(handle, path, "rd_kafka_mock_group_initial_rebalance_delay_ms");
    }

    /// <summary>The library file Confluent.Kafka loaded, as the process's memory map names it.</summary>
    public string Path { get; }

    /// <summary>librdkafka's version as a hex number (0xMMmmrrxx), read from this file.</summary>
    public int Version => _version();

    /// <summary>The library Confluent.Kafka uses in this process (loaded on first use).</summary>
    public static LoadedLibrdkafka Instance => Shared.Value;

    /// <summary>
    /// A new client handle of type producer, configured with <paramref name="settings"/>. It is what
    /// the mock cluster is created on; nothing is ever produced with it.
    /// </summary>
    public nint NewProducerHandle(IReadOnlyDictionary<string, string> settings)
    {
        var conf = _confNew();
        var error = stackalloc byte[ErrorTextBytes];
        foreach (var (name, value) in settings)
        {
            fixed (byte* namePtr = NullTerminated(name))
            fixed (byte* valuePtr = NullTerminated(value))
            {
                if (_confSet(conf, namePtr, valuePtr, error, ErrorTextBytes) != ConfOk)
                {
                    _confDestroy(conf);
                    throw new InvalidOperationException(
                        $"librdkafka refused the setting {name}={value} for the mock cluster's handle: {Text(error)}");
                }
            }
        }

        var rk = _new(ProducerType, conf, error, ErrorTextBytes);
        if (rk == 0)
        {
            // On failure rd_kafka_new leaves the configuration to the caller.
            _confDestroy(conf);
            throw new InvalidOperationException($"librdkafka could not create the mock cluster's client handle: {Text(error)}");
        }

        return rk;
    }

    public void DestroyHandle(nint rk) => _destroy(rk);

    /// <summary>A mock cluster on the handle <paramref name="rk"/>, or 0 when librdkafka could not start one.</summary>
    public nint MockClusterNew(nint rk, int brokers) => _mockClusterNew(rk, brokers);

    public void MockClusterDestroy(nint cluster) => _mockClusterDestroy(cluster);

    public string MockClusterBootstraps(nint cluster) => Text(_mockClusterBootstraps(cluster));

    public ErrorCode MockTopicCreate(nint cluster, string topic, int partitions, int replicationFactor)
    {
        fixed (byte* topicPtr = NullTerminated(topic))
        {
            return (ErrorCode)_mockTopicCreate(cluster, topicPtr, partitions, replicationFactor);
        }
    }

    public ErrorCode MockBrokerSetDown(nint cluster, int brokerId) => (ErrorCode)_mockBrokerSetDown(cluster, brokerId);

    public ErrorCode MockBrokerSetUp(nint cluster, int brokerId) => (ErrorCode)_mockBrokerSetUp(cluster, brokerId);

    public void MockGroupInitialRebalanceDelay(nint cluster, int milliseconds) => _mockGroupInitialRebalanceDelayMs(cluster, milliseconds);

    private static LoadedLibrdkafka Load()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException(
                "The librdkafka mock cluster is reached through the library Confluent.Kafka loaded, which is found in " +
                "/proc/self/maps; that exists on Linux only. Run this on Linux (the product's platform).");
        }

        // Let Confluent.Kafka choose and load its native library (false: it was loaded already).
        Library.Load();
        var path = LibrdkafkaPathFromMemoryMap(File.ReadLines("/proc/self/maps"));
        var handle = NativeLibrary.Load(path);
        var library = new LoadedLibrdkafka(path, handle);
        if (library.Version != Library.Version)
        {
            throw new InvalidOperationException(
                $"{path} is librdkafka {library.Version:x8}, but Confluent.Kafka reports {Library.Version:x8}; " +
                "two different librdkafka libraries are loaded in this process.");
        }

        return library;
    }

    /// <summary>
    /// The one mapped file whose name contains "rdkafka", from lines of <c>/proc/self/maps</c>
    /// (address perms offset dev inode path).
    /// </summary>
    internal static string LibrdkafkaPathFromMemoryMap(IEnumerable<string> mapLines)
    {
        var paths = mapLines
            .Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length == 6 && fields[5].StartsWith('/'))
            .Select(fields => fields[5].Trim())
            .Where(path => System.IO.Path.GetFileName(path).Contains("rdkafka", StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        return paths.Count switch
        {
            1 => paths[0],
            0 => throw new InvalidOperationException(
                "Confluent.Kafka reported its native library loaded, but no file named like librdkafka is mapped into " +
                "this process (/proc/self/maps). Check that the librdkafka.redist package's runtimes/ folder was deployed."),
            _ => throw new InvalidOperationException(
                $"More than one librdkafka is mapped into this process ({string.Join(", ", paths)}); " +
                "the mock cluster cannot tell which one Confluent.Kafka uses."),
        };
    }

    private static nint Export(nint handle, string path, string name) =>
        NativeLibrary.TryGetExport(handle, name, out var address)
            ? address
            : throw new EntryPointNotFoundException(
                $"{path} does not export {name}; this librdkafka build has no mock cluster (librdkafka 2.x from the " +
                "librdkafka.redist package has one).");

    private static byte[] NullTerminated(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    private static string Text(byte* nullTerminated) =>
        nullTerminated == null ? "" : Marshal.PtrToStringUTF8((nint)nullTerminated) ?? "";
}
