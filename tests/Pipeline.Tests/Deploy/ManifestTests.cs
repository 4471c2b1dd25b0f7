using System.Text.Json.Nodes;
using Xunit;

namespace Pipeline.Tests.Deploy;

/// <summary>
/// The Kubernetes manifests in k8s/: each overlay renders (the tests' Kustomize subset) to objects that match the
/// Kubernetes API's schemas and follow our rules; and each rule catches the mistake it is there for.
/// </summary>
public sealed class ManifestTests
{
    public static TheoryData<string> Overlays => new() { "dev", "production" };

    private static List<string> Problems(string overlay, Action<List<JsonObject>>? change = null)
    {
        var objects = DeployFiles.Render(overlay);
        change?.Invoke(objects);
        return ManifestRules.Check(objects, DeployFiles.KafkaSecret(overlay));
    }

    private static JsonObject Find(List<JsonObject> objects, string kind, string name) =>
        objects.Single(obj => obj["kind"]!.GetValue<string>() == kind && obj["metadata"]!["name"]!.GetValue<string>() == name);

    private static JsonObject PodSpec(List<JsonObject> objects, string kind, string name) => Find(objects, kind, name)["spec"]!["template"]!["spec"]!.AsObject();

    private static JsonObject Node(List<JsonObject> objects, string kind, string name) => PodSpec(objects, kind, name)["containers"]![0]!.AsObject();

    private static JsonObject Env(List<JsonObject> objects, string kind, string name, string variable) =>
        Node(objects, kind, name)["env"]!.AsArray().Select(e => e!.AsObject()).Single(e => e["name"]!.GetValue<string>() == variable);

    private static void AddEnv(List<JsonObject> objects, string kind, string name, string variable, JsonNode value) =>
        Node(objects, kind, name)["env"]!.AsArray().Add(new JsonObject { ["name"] = variable, ["value"] = value });

    private static void RemoveEnv(List<JsonObject> objects, string kind, string name, string variable) =>
        Node(objects, kind, name)["env"]!.AsArray().Remove(Env(objects, kind, name, variable));

    /// <summary>The products ConfigMap as rendered (its name carries a hash of its content).</summary>
    private static JsonObject Products(List<JsonObject> objects) =>
        objects.Single(obj => obj["kind"]!.GetValue<string>() == "ConfigMap" && obj["metadata"]!["name"]!.GetValue<string>().StartsWith("pipeline-products-", StringComparison.Ordinal));

    private static void AddProductSetting(List<JsonObject> objects, string variable, string value) =>
        ((Products(objects)["data"] ??= new JsonObject()).AsObject())[variable] = value;

    private static JsonObject Volume(List<JsonObject> objects, string kind, string name, string volume) =>
        PodSpec(objects, kind, name)["volumes"]!.AsArray().Select(v => v!.AsObject()).Single(v => v["name"]!.GetValue<string>() == volume);

    private static JsonObject Mount(List<JsonObject> objects, string kind, string name, string volume) =>
        Node(objects, kind, name)["volumeMounts"]!.AsArray().Select(v => v!.AsObject()).Single(v => v["name"]!.GetValue<string>() == volume);

    [Theory]
    [MemberData(nameof(Overlays))]
    public void An_overlay_renders_to_kubernetes_objects_that_follow_our_rules(string overlay)
    {
        var problems = Problems(overlay);

        Assert.True(problems.Count == 0, $"{overlay}:\n{string.Join("\n", problems)}");
    }

    [Fact]
    public void The_dev_overlay_runs_one_small_pod_per_role_and_scores_on_the_cpu()
    {
        var objects = DeployFiles.Render("dev");

        Assert.All(objects.Where(o => o["kind"]!.GetValue<string>() != "KafkaTopic"), o => Assert.Equal("inspection-dev", o["metadata"]!["namespace"]!.GetValue<string>()));
        Assert.All(objects.Where(o => o["kind"]!.GetValue<string>() == "KafkaTopic"), o => Assert.Equal("kafka", o["metadata"]!["namespace"]!.GetValue<string>()));
        Assert.Equal("inspection-dev", Find(objects, "RoleBinding", "pipeline-pod-reader")["subjects"]![0]!["namespace"]!.GetValue<string>());
        Assert.Equal(1, Find(objects, "Deployment", "scoring")["spec"]!["replicas"]!.GetValue<long>());
        Assert.Equal("inspection-pipeline:1.0.0", Node(objects, "Deployment", "scoring")["image"]!.GetValue<string>());
        Assert.Equal("cpu", Env(objects, "Deployment", "scoring", "Pipeline__Scoring__Device")["value"]!.GetValue<string>());
        Assert.Null(PodSpec(objects, "Deployment", "scoring")["nodeSelector"]);
        Assert.Null(Node(objects, "Deployment", "scoring")["resources"]!["limits"]!["nvidia.com/gpu"]);
        Assert.Equal(3, Find(objects, "KafkaTopic", "frames")["spec"]!["partitions"]!.GetValue<long>());
        Assert.Equal(1, Find(objects, "KafkaTopic", "model-events")["spec"]!["config"]!["min.insync.replicas"]!.GetValue<long>());
    }

    [Fact]
    public void The_production_overlay_scores_on_gpu_nodes_and_declares_the_kafka_user()
    {
        var objects = DeployFiles.Render("production");

        Assert.Equal("registry.example.com/factory/inspection-pipeline-cuda:1.0.0", Node(objects, "Deployment", "scoring")["image"]!.GetValue<string>());
        Assert.Equal("registry.example.com/factory/inspection-pipeline:1.0.0", Node(objects, "StatefulSet", "training")["image"]!.GetValue<string>());
        Assert.Equal(1, Node(objects, "Deployment", "scoring")["resources"]!["limits"]!["nvidia.com/gpu"]!.GetValue<long>());
        Assert.Equal("cuda", Env(objects, "Deployment", "scoring", "Pipeline__Scoring__Device")["value"]!.GetValue<string>());
        Assert.Equal(3, Find(objects, "Deployment", "ingest")["spec"]!["replicas"]!.GetValue<long>());
        Assert.Equal("3", Env(objects, "StatefulSet", "training", "Pipeline__Cluster__RequiredContactPoints")["value"]!.GetValue<string>());
        Assert.Equal("kafka", Find(objects, "KafkaUser", "inspection-pipeline")["metadata"]!["namespace"]!.GetValue<string>());
        Assert.Equal("inspection", Find(objects, "PodMonitor", "pipeline")["metadata"]!["namespace"]!.GetValue<string>());
    }

    [Fact]
    public void The_production_overlay_runs_remoting_over_mutual_tls_with_a_certificate_per_node_kind_from_one_CA()
    {
        var objects = DeployFiles.Render("production");

        foreach (var (kind, name) in new[] { ("Deployment", "ingest"), ("Deployment", "scoring"), ("StatefulSet", "training") })
        {
            Assert.Equal("true", Env(objects, kind, name, "Pipeline__Cluster__Tls__Enabled")["value"]!.GetValue<string>());
            Assert.Equal("/etc/pipeline/cluster-tls/ca.crt", Env(objects, kind, name, "Pipeline__Cluster__Tls__CaCertificatePath")["value"]!.GetValue<string>());
            Assert.Equal($"pipeline-{name}-tls", Volume(objects, kind, name, "cluster-tls")["secret"]!["secretName"]!.GetValue<string>());
            var certificate = Find(objects, "Certificate", $"pipeline-{name}-tls")["spec"]!;
            Assert.Equal("pipeline-cluster-ca", certificate["issuerRef"]!["name"]!.GetValue<string>());
        }
        Assert.Equal("pipeline-cluster-ca", Find(objects, "Issuer", "pipeline-cluster-ca")["spec"]!["ca"]!["secretName"]!.GetValue<string>());
        Assert.True(Find(objects, "Certificate", "pipeline-cluster-ca")["spec"]!["isCA"]!.GetValue<bool>());
    }

    [Fact]
    public void The_dev_overlay_runs_remoting_without_tls_and_only_training_holds_the_signing_keys()
    {
        var objects = DeployFiles.Render("dev");

        Assert.DoesNotContain(objects, o => o["kind"]!.GetValue<string>() is "Certificate" or "Issuer");
        Assert.DoesNotContain(Node(objects, "Deployment", "ingest")["env"]!.AsArray(), e => e!["name"]!.GetValue<string>().StartsWith("Pipeline__Cluster__Tls__", StringComparison.Ordinal));
        Assert.Equal("pipeline-http-keys", Volume(objects, "StatefulSet", "training", "http-keys")["secret"]!["secretName"]!.GetValue<string>());
        Assert.DoesNotContain(PodSpec(objects, "Deployment", "scoring")["volumes"]!.AsArray(), v => v!["name"]!.GetValue<string>() == "http-keys");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void The_signing_keys_secret_the_rules_assume_is_the_one_docs_deploy_md_creates(string overlay)
    {
        var ns = Find(DeployFiles.Render(overlay), "StatefulSet", "training")["metadata"]!["namespace"]!.GetValue<string>();
        var docs = File.ReadAllText(Path.Combine(DeployFiles.RepositoryRoot, "docs", "deploy.md"));

        Assert.Contains($"kubectl create secret generic {ManifestRules.SigningKeysSecret} -n {ns} --from-file=", docs);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void The_kafka_secret_the_rules_assume_is_the_one_docs_deploy_md_creates(string overlay)
    {
        var ns = Find(DeployFiles.Render(overlay), "Deployment", "ingest")["metadata"]!["namespace"]!.GetValue<string>();
        var lines = File.ReadAllLines(Path.Combine(DeployFiles.RepositoryRoot, "docs", "deploy.md"));
        var start = Array.FindIndex(lines, line => line.StartsWith($"kubectl create secret generic pipeline-kafka -n {ns} ", StringComparison.Ordinal));
        Assert.True(start >= 0, $"docs/deploy.md has no command that creates the Secret pipeline-kafka in namespace {ns}");
        var command = string.Join(" ", lines.Skip(start).TakeWhile((line, i) => i == 0 || lines[start + i - 1].EndsWith('\\')));

        var given = System.Text.RegularExpressions.Regex.Matches(command, @"--from-(literal|file)=([^=\s]+)=(\S*)")
            .ToDictionary(match => match.Groups[2].Value, match => match.Groups[1].Value == "literal" ? match.Groups[3].Value : "(from a file)");
        var assumed = DeployFiles.KafkaSecret(overlay);
        Assert.Equal(assumed.Keys.Order(), given.Keys.Order());
        foreach (var (key, value) in assumed.Where(entry => given[entry.Key] != "(from a file)"))
            Assert.Equal(value, given[key]);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Every_role_reads_the_products_configmap_which_configures_no_product_unless_the_overlay_adds_one(string overlay)
    {
        var objects = DeployFiles.Render(overlay);

        var products = Products(objects);
        Assert.Null(products["data"]); // one product, "default": a line that configures nothing about products, as before
        var name = products["metadata"]!["name"]!.GetValue<string>();
        foreach (var (kind, workload) in new[] { ("Deployment", "ingest"), ("Deployment", "scoring"), ("StatefulSet", "training") })
            Assert.Equal(name, Node(objects, kind, workload)["envFrom"]![0]!["configMapRef"]!["name"]!.GetValue<string>());

        AddProductSetting(objects, "Pipeline__Products__bracket-a__Cameras", "line-1-cam-1,line-1-cam-2");
        AddProductSetting(objects, "Pipeline__Products__housing__Cameras", "");
        var problems = ManifestRules.Check(objects, DeployFiles.KafkaSecret(overlay));
        Assert.True(problems.Count == 0, $"{overlay} with two products:\n{string.Join("\n", problems)}");
    }

    /// <summary>A mistake in a manifest, and what the rules say about it.</summary>
    public sealed record Mistake(string Overlay, Action<List<JsonObject>> Make, string Said)
    {
        public override string ToString() => Said;
    }

    public static TheoryData<string, Mistake> Mistakes => new()
    {
        // Kubernetes schemas
        { "misspelt field", new("dev", o => Find(o, "Deployment", "ingest")["spec"]!["replica"] = 2, "could not be mapped to any .NET member") },
        { "number for a string", new("dev", o => Env(o, "Deployment", "ingest", "Pipeline__Cluster__Port")["value"] = 4053, "could not be converted to System.String") },
        { "unknown kind", new("dev", o => o.Add(new JsonObject { ["apiVersion"] = "example.com/v1", ["kind"] = "Widget", ["metadata"] = new JsonObject { ["name"] = "w" } }), "is not a type the tests know") },
        { "custom resource field", new("dev", o => Find(o, "KafkaTopic", "frames")["spec"]!["partition"] = 3, "could not be mapped") },
        // images, security, resources, shutdown
        { "latest image", new("dev", o => Node(o, "Deployment", "ingest")["image"] = "inspection-pipeline:latest", "uses :latest") },
        { "untagged image", new("production", o => Node(o, "Deployment", "scoring")["image"] = "registry.example.com:5000/inspection-pipeline-cuda", "has no tag") },
        { "root", new("dev", o => PodSpec(o, "Deployment", "ingest")["securityContext"]!["runAsNonRoot"] = false, "set runAsNonRoot: true") },
        { "writable root filesystem", new("dev", o => Node(o, "StatefulSet", "training")["securityContext"]!["readOnlyRootFilesystem"] = false, "set readOnlyRootFilesystem: true") },
        { "no /tmp", new("dev", o => Node(o, "Deployment", "scoring")["volumeMounts"]!.AsArray().RemoveAt(0), "no volume at /tmp") },
        { "no limits", new("dev", o => Node(o, "Deployment", "ingest")["resources"]!.AsObject().Remove("limits"), "has no memory limit") },
        { "request above limit", new("production", o => Node(o, "Deployment", "ingest")["resources"]!["requests"]!["memory"] = "3Gi", "requests more memory (3Gi) than its limit (2Gi)") },
        { "short grace period", new("dev", o => PodSpec(o, "Deployment", "ingest")["terminationGracePeriodSeconds"] = 10, "terminationGracePeriodSeconds is 10") },
        // labels and selectors
        { "selector", new("dev", o => Find(o, "Deployment", "ingest")["spec"]!["selector"]!["matchLabels"]!["app.kubernetes.io/component"] = "ingestion", "does not match its pod template's labels") },
        { "service selector", new("dev", o => Find(o, "Service", "training")["spec"]!["selector"]!["app.kubernetes.io/component"] = "trainer", "selects no pods") },
        { "budget selector", new("production", o => Find(o, "PodDisruptionBudget", "scoring")["spec"]!["selector"]!["matchLabels"]!.AsObject().Remove("app.kubernetes.io/component"), "selects 3 workloads") },
        { "no budget", new("production", o => o.Remove(Find(o, "PodDisruptionBudget", "ingest")), "has 3 replicas but no PodDisruptionBudget") },
        { "role label", new("dev", o => Env(o, "Deployment", "ingest", "Pipeline__Cluster__Roles")["value"] = "scoring", "run the role scoring but are labelled app.kubernetes.io/component=ingest") },
        { "monitor port", new("production", o => Find(o, "PodMonitor", "pipeline")["spec"]!["podMetricsEndpoints"]![0]!["port"] = "metrics", "port metrics is not a named port") },
        // ports and probes
        { "http port", new("dev", o => AddEnv(o, "Deployment", "ingest", "Pipeline__Http__Port", "9090"), "container port http is 8080 but the node listens on 9090") },
        { "remoting port", new("dev", o => Env(o, "Deployment", "scoring", "Pipeline__Cluster__Port")["value"] = "2552", "container port remoting is 4053 but the node listens on 2552") },
        { "management port name", new("dev", o => Node(o, "StatefulSet", "training")["ports"]![1]!["name"] = "mgmt", "no container port named management") },
        { "readiness on liveness", new("dev", o => Node(o, "Deployment", "scoring")["readinessProbe"]!["httpGet"]!["path"] = "/healthz", "the readiness probe asks /healthz") },
        { "probe port", new("dev", o => Node(o, "Deployment", "ingest")["livenessProbe"]!["httpGet"]!["port"] = "remoting", "the liveness probe goes to port remoting (4053)") },
        { "impatient readiness", new("dev", o => Node(o, "Deployment", "ingest")["readinessProbe"]!["timeoutSeconds"] = 1, "gives up after 1 s") },
        { "metrics port", new("dev", o => Find(o, "Deployment", "ingest")["spec"]!["template"]!["metadata"]!["annotations"]!["prometheus.io/port"] = "9100", "prometheus.io/port is 9100") },
        { "service target", new("dev", o => Find(o, "Service", "training")["spec"]!["ports"]![0]!["targetPort"] = "web", "targets web") },
        // settings
        { "misspelt setting", new("dev", o => AddEnv(o, "Deployment", "ingest", "Pipeline__Cluster__Prot", "4053"), "Pipeline__Cluster__Prot is not a setting the app reads") },
        { "misspelt nested setting", new("dev", o => AddEnv(o, "Deployment", "ingest", "Pipeline__Kafka__Topics__Frame", "frames"), "Pipeline__Kafka__Topics__Frame is not a setting") },
        { "single underscores", new("dev", o => AddEnv(o, "Deployment", "ingest", "Pipeline_Ingest_MaxInFlightFrames", "32"), "with double underscores") },
        { "no brokers", new("dev", o => RemoveEnv(o, "StatefulSet", "training", "Pipeline__Kafka__BootstrapServers"), "the training role reads Kafka; set Pipeline__Kafka__BootstrapServers") },
        { "registry off the volume", new("dev", o => Env(o, "StatefulSet", "training", "Pipeline__Training__RegistryPath")["value"] = "/srv/registry", "is /srv/registry, which is not on the pod's persistent volume") },
        { "no sample store", new("dev", o => RemoveEnv(o, "StatefulSet", "training", "Pipeline__Training__SampleStorePath"), "set Pipeline__Training__SampleStorePath") },
        { "two trainers", new("production", o => Find(o, "StatefulSet", "training")["spec"]!["replicas"] = 2, "training is one StatefulSet pod") },
        { "value the node refuses", new("dev", o => AddEnv(o, "Deployment", "ingest", "Pipeline__Ingest__MaxInFlightFrames", "0"), "the node refuses its configuration: Pipeline:Ingest:MaxInFlightFrames is 0") },
        { "one static member name for all replicas", new("dev", o => { var env = Env(o, "Deployment", "ingest", "Pipeline__Kafka__GroupInstanceId"); env.Remove("valueFrom"); env["value"] = "ingest"; }, "Pipeline__Kafka__GroupInstanceId must be the pod's name") },
        { "bad split-brain strategy", new("dev", o => AddEnv(o, "Deployment", "scoring", "Pipeline__Cluster__SplitBrainStrategy", "keep-all"), "Pipeline:Cluster:SplitBrainStrategy is 'keep-all'") },
        // products
        { "bad product name", new("dev", o => AddProductSetting(o, "Pipeline__Products__Bracket_A__Cameras", "line-1-cam-1"), "the node refuses its configuration: 'Bracket_A' (Pipeline:Products:Bracket_A) is not a product name") },
        { "camera of two products", new("dev", o => { AddProductSetting(o, "Pipeline__Products__bracket-a__Cameras", "line-1-cam-1"); AddProductSetting(o, "Pipeline__Products__housing__Cameras", "line-1-cam-1"); }, "Camera 'line-1-cam-1' is given to two products") },
        { "misspelt product setting", new("dev", o => AddProductSetting(o, "Pipeline__Products__bracket-a__Camera", "line-1-cam-1"), "Pipeline__Products__bracket-a__Camera (ConfigMap pipeline-products-") },
        { "missing products configmap", new("dev", o => o.Remove(Products(o)), "envFrom ConfigMap pipeline-products-") },
        // GPUs
        { "gpu without toleration", new("production", o => PodSpec(o, "Deployment", "scoring").Remove("tolerations"), "no toleration for the nvidia.com/gpu taint") },
        { "gpu on the cpu", new("production", o => Env(o, "Deployment", "scoring", "Pipeline__Scoring__Device")["value"] = "cpu", "is given 1 GPU(s) but Pipeline__Scoring__Device is 'cpu'") },
        { "cuda without gpu", new("dev", o => Env(o, "Deployment", "scoring", "Pipeline__Scoring__Device")["value"] = "cuda", "Pipeline__Scoring__Device is 'cuda' but the pod asks for no nvidia.com/gpu") },
        // cluster formation
        { "seed-node discovery", new("dev", o => Env(o, "Deployment", "ingest", "Pipeline__Cluster__Discovery")["value"] = "seed-nodes", "set Pipeline__Cluster__Discovery=kubernetes") },
        { "peers not selected", new("dev", o => Env(o, "Deployment", "ingest", "Pipeline__Cluster__KubernetesPodLabelSelector")["value"] = "app.kubernetes.io/component=ingest", "which does not select the pods of Deployment scoring") },
        { "literal public hostname", new("dev", o => Env(o, "Deployment", "scoring", "Pipeline__Cluster__PublicHostname").Remove("valueFrom"), "must be the pod's IP") },
        { "no rbac", new("dev", o => o.Remove(Find(o, "RoleBinding", "pipeline-pod-reader")), "may not list pods in its namespace") },
        { "role without list", new("production", o => Find(o, "Role", "pipeline-pod-reader")["rules"]![0]!["verbs"] = new JsonArray("get"), "may not list pods") },
        // secrets
        { "password in the manifest", new("production", o => Env(o, "Deployment", "ingest", "Pipeline__Kafka__SaslPassword").Remove("valueFrom"), "Pipeline__Kafka__SaslPassword must come from a Secret") },
        { "brokers in the manifest", new("dev", o => { RemoveEnv(o, "Deployment", "ingest", "Pipeline__Kafka__BootstrapServers"); AddEnv(o, "Deployment", "ingest", "Pipeline__Kafka__BootstrapServers", "kafka:9092"); }, "Pipeline__Kafka__BootstrapServers must come from a Secret") },
        { "secret with values", new("dev", o => o.Add(new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Secret", ["metadata"] = new JsonObject { ["name"] = "pipeline-kafka" }, ["stringData"] = new JsonObject { ["sasl.password"] = "hunter2" } }), "carries values in the manifests") },
        // mutual TLS on remoting
        { "tls on some nodes only", new("production", o => RemoveEnv(o, "Deployment", "scoring", "Pipeline__Cluster__Tls__Enabled"), "nodes with and without TLS cannot form one cluster") },
        { "misspelt tls setting", new("production", o => AddEnv(o, "Deployment", "ingest", "Pipeline__Cluster__Tls__CertPath", "/etc/pipeline/cluster-tls/tls.crt"), "Pipeline__Cluster__Tls__CertPath is not a setting the app reads") },
        { "certificate under another name", new("production", o => Env(o, "StatefulSet", "training", "Pipeline__Cluster__Tls__CertificatePath")["value"] = "/etc/pipeline/cluster-tls/cert.pem", "but cert-manager writes the node's certificate as tls.crt") },
        { "ca outside the secret", new("production", o => Env(o, "Deployment", "ingest", "Pipeline__Cluster__Tls__CaCertificatePath")["value"] = "/tmp/ca.crt", "Pipeline__Cluster__Tls__CaCertificatePath is /tmp/ca.crt, which is not in a mounted Secret") },
        { "optional certificate", new("production", o => Volume(o, "Deployment", "scoring", "cluster-tls")["secret"]!["optional"] = true, "the certificate Secret pipeline-scoring-tls is mounted optional") },
        { "certificate subPath", new("production", o => Mount(o, "Deployment", "ingest", "cluster-tls")["subPath"] = "tls.crt", "is mounted with subPath, which Kubernetes never updates") },
        { "secret of no certificate", new("production", o => Volume(o, "Deployment", "scoring", "cluster-tls")["secret"]!["secretName"] = "pipeline-scoring-cert", "the Secret pipeline-scoring-cert it reads its TLS files from is made by no cert-manager Certificate") },
        { "server-only certificate", new("production", o => Find(o, "Certificate", "pipeline-ingest-tls")["spec"]!["usages"] = new JsonArray("server auth", "digital signature"), "its usages lack 'client auth'") },
        { "two CAs", new("production", o => Find(o, "Certificate", "pipeline-scoring-tls")["spec"]!["issuerRef"]!["name"] = "pipeline-selfsigned", "the nodes' certificates come from different issuers") },
        { "self-signed node certificate", new("production", o => Find(o, "Certificate", "pipeline-scoring-tls")["spec"]!["issuerRef"]!["name"] = "pipeline-selfsigned", "is not a CA issuer (spec.ca)") },
        { "no CA certificate", new("production", o => o.Remove(Find(o, "Certificate", "pipeline-cluster-ca")), "its CA Secret pipeline-cluster-ca is made by no Certificate with isCA: true") },
        { "renewal after expiry", new("production", o => Find(o, "Certificate", "pipeline-training-tls")["spec"]!["renewBefore"] = "2400h", "renewBefore 2400h is not shorter than its duration 2160h") },
        // access tokens
        { "no signing keys", new("dev", o => RemoveEnv(o, "StatefulSet", "training", "Pipeline__Http__Auth__SigningKeysPath"), "the training role's control endpoints (refit, promote, rollback) would refuse every request") },
        { "signing keys elsewhere", new("dev", o => Env(o, "StatefulSet", "training", "Pipeline__Http__Auth__SigningKeysPath")["value"] = "/etc/pipeline/keys", "where no Secret is mounted") },
        { "signing keys subPath", new("production", o => Mount(o, "StatefulSet", "training", "http-keys")["subPath"] = "key-1", "the signing keys are mounted with subPath") },
        { "signing keys from another secret", new("dev", o => Volume(o, "StatefulSet", "training", "http-keys")["secret"]!["secretName"] = "my-keys", "the signing keys come from Secret my-keys, which docs/deploy.md does not make") },
        { "protected metrics scraped without a token", new("production", o => AddEnv(o, "StatefulSet", "training", "Pipeline__Http__Auth__ProtectMetrics", "true"), "PodMonitor pipeline scrapes StatefulSet training without a token") },
        { "protected metrics by annotation", new("dev", o => AddEnv(o, "StatefulSet", "training", "Pipeline__Http__Auth__ProtectMetrics", "true"), "its prometheus.io/scrape annotation asks for scraping without a token") },
        // network policy
        { "open ingress", new("dev", o => Find(o, "NetworkPolicy", "pipeline")["spec"]!["ingress"]!.AsArray().Add(new JsonObject { ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080 }) }), "an ingress rule without 'from'") },
        { "egress anywhere", new("dev", o => Find(o, "NetworkPolicy", "pipeline")["spec"]!["egress"]!.AsArray().Add(new JsonObject { ["ports"] = new JsonArray(new JsonObject { ["port"] = 5432 }) }), "egress rule to any destination on ports [5432]") },
        { "no way to kafka", new("dev", o => Find(o, "NetworkPolicy", "pipeline")["spec"]!["egress"]!.AsArray().RemoveAt(1), "does not let the pods reach the brokers") },
        { "pods cut off", new("dev", o => Find(o, "NetworkPolicy", "pipeline")["spec"]!["ingress"]![0]!["ports"]!.AsArray().RemoveAt(1), "does not let the pipeline's pods reach each other on ports 4053, 8080, 8558") },
        { "ingress only", new("dev", o => Find(o, "NetworkPolicy", "pipeline")["spec"]!["policyTypes"] = new JsonArray("Ingress"), "must restrict both Ingress and Egress") },
        // Kafka topics and user
        { "missing topic", new("dev", o => o.Remove(Find(o, "KafkaTopic", "anomalies")), "no KafkaTopic declares topic anomalies") },
        { "missing training topic", new("production", o => o.Remove(Find(o, "KafkaTopic", "model-events")), "no KafkaTopic declares topic model-events") },
        { "small frames", new("dev", o => Find(o, "KafkaTopic", "frames")["spec"]!["config"]!["max.message.bytes"] = 1048576, "allows messages of 1048576 bytes") },
        { "recompressed results", new("production", o => Find(o, "KafkaTopic", "inspection-results")["spec"]!["config"]!["compression.type"] = "lz4", "KafkaTopic inspection-results has compression.type lz4; set producer") },
        { "broker's codec", new("dev", o => Find(o, "KafkaTopic", "anomalies")["spec"]!["config"]!.AsObject().Remove("compression.type"), "KafkaTopic anomalies sets no compression.type, so the broker's default applies") },
        { "renamed topic", new("dev", o => { AddEnv(o, "Deployment", "ingest", "Pipeline__Kafka__Topics__Results", "results-v2"); AddEnv(o, "StatefulSet", "training", "Pipeline__Kafka__Topics__Results", "results-v2"); }, "no KafkaTopic declares topic results-v2") },
        { "more ingest than partitions", new("production", o => Find(o, "Deployment", "ingest")["spec"]!["replicas"] = 13, "has 13 replicas but topic frames only 12 partitions") },
        { "in-sync above replicas", new("dev", o => Find(o, "KafkaTopic", "frames-dead-letter")["spec"]!["config"]!["min.insync.replicas"] = 2, "min.insync.replicas 2 is more than its 1 replicas") },
        { "other kafka cluster", new("dev", o => Find(o, "KafkaTopic", "frames")["metadata"]!["labels"]!["strimzi.io/cluster"] = "other", "must carry the same strimzi.io/cluster label") },
        { "user cannot write", new("production", o => Find(o, "KafkaUser", "inspection-pipeline")["spec"]!["authorization"]!["acls"]!.AsArray().RemoveAt(4), "may not Write topic frames-dead-letter") },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void A_mistake_in_a_manifest_is_named(string mistake, Mistake example)
    {
        var problems = Problems(example.Overlay, example.Make);

        Assert.True(problems.Any(problem => problem.Contains(example.Said, StringComparison.Ordinal)),
            $"{mistake}: expected a problem saying \"{example.Said}\", got:\n{string.Join("\n", problems)}");
    }
}
