using System.Text.RegularExpressions;
using System.Xml.Linq;
using Pipeline.Shared.Configuration;
using Xunit;

namespace Pipeline.Tests.Deploy;

/// <summary>
/// deploy/docker/Dockerfile agrees with the app and the manifests. (Building the image needs Docker, which the test
/// machines lack; docs/deploy.md says how the build stage's commands were checked instead.)
/// </summary>
public sealed partial class DockerfileTests
{
    private sealed record Stage(string Name, string From, List<(string Instruction, string Arguments)> Lines);

    private static List<Stage> Stages()
    {
        var text = File.ReadAllText(Path.Combine(DeployFiles.RepositoryRoot, "deploy", "docker", "Dockerfile"));
        var joined = text.Replace("\\\n", " ");
        var stages = new List<Stage>();
        foreach (var line in joined.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            var match = InstructionPattern().Match(line);
            var (instruction, arguments) = (match.Groups[1].Value.ToUpperInvariant(), match.Groups[2].Value.Trim());
            if (instruction == "FROM")
            {
                var from = FromPattern().Match(arguments);
                stages.Add(new Stage(from.Groups[2].Success ? from.Groups[2].Value : $"#{stages.Count}", from.Groups[1].Value, []));
            }
            else if (stages.Count > 0) stages[^1].Lines.Add((instruction, arguments));
        }
        return stages;
    }

    /// <summary>The instructions of a stage and of the stages it is built on, base first.</summary>
    private static List<(string Instruction, string Arguments)> Effective(List<Stage> stages, string name)
    {
        var stage = stages.Single(s => s.Name == name);
        return stages.Any(s => s.Name == stage.From) ? [.. Effective(stages, stage.From), .. stage.Lines] : stage.Lines;
    }

    [Fact]
    public void The_images_expose_the_ports_the_nodes_listen_on_by_default()
    {
        var cluster = new ClusterOptions();
        var expected = new[] { cluster.Port, new HttpOptions().Port, cluster.ManagementPort }.Order();

        foreach (var target in new[] { "cpu", "cuda" })
        {
            var exposed = Effective(Stages(), target).Where(l => l.Instruction == "EXPOSE")
                .SelectMany(l => l.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(int.Parse).Order();
            Assert.Equal(expected, exposed);
        }
    }

    [Fact]
    public void The_images_run_pipeline_serve_as_a_non_root_user()
    {
        var assembly = XDocument.Load(Path.Combine(DeployFiles.RepositoryRoot, "src", "Host", "Host.csproj")).Descendants("AssemblyName").Single().Value;

        foreach (var target in new[] { "cpu", "cuda" })
        {
            var lines = Effective(Stages(), target);
            Assert.Equal($"[\"/app/{assembly}\"]", lines.Last(l => l.Instruction == "ENTRYPOINT").Arguments);
            Assert.Equal("[\"serve\"]", lines.Last(l => l.Instruction == "CMD").Arguments);
            var user = lines.Last(l => l.Instruction == "USER").Arguments;
            Assert.DoesNotMatch("^(root|0)(:.*)?$", user);
        }
    }

    [Fact]
    public void The_cpu_image_is_the_default_and_each_image_gets_its_own_tensor_backend()
    {
        var stages = Stages();
        Assert.Equal("cpu", stages[^1].Name);

        foreach (var backend in new[] { "cpu", "cuda" })
        {
            var copied = stages.Single(s => s.Name == backend).Lines.Single(l => l.Instruction == "COPY").Arguments;
            var build = CopyFromPattern().Match(copied).Groups[1].Value;
            var commands = Effective(stages, build).Where(l => l.Instruction == "RUN").Select(l => l.Arguments).ToList();
            Assert.Contains(commands, command => command.StartsWith("dotnet restore src/Host/Host.csproj", StringComparison.Ordinal) && command.Contains($"-p:TorchBackend={backend}"));
            Assert.Contains(commands, command => command.StartsWith("dotnet publish src/Host/Host.csproj", StringComparison.Ordinal) && command.Contains($"-p:TorchBackend={backend}"));
        }
    }

    [Fact]
    public void The_restore_stage_copies_every_project_file_the_executable_is_built_from()
    {
        var root = DeployFiles.RepositoryRoot;
        var needed = new SortedSet<string>(StringComparer.Ordinal);
        void Visit(string project)
        {
            var relative = Path.GetRelativePath(root, project).Replace('\\', '/');
            if (!needed.Add(relative)) return;
            foreach (var reference in XDocument.Load(project).Descendants("ProjectReference"))
                Visit(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, reference.Attribute("Include")!.Value)));
        }
        Visit(Path.Combine(root, "src", "Host", "Host.csproj"));

        var copied = Stages().Single(s => s.Name == "sources").Lines.Where(l => l.Instruction == "COPY")
            .Select(l => l.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]).ToHashSet(StringComparer.Ordinal);
        Assert.Superset(needed, copied);
    }

    [Fact]
    public void The_build_context_leaves_out_build_outputs_and_what_the_image_does_not_need()
    {
        var ignored = File.ReadAllLines(Path.Combine(DeployFiles.RepositoryRoot, ".dockerignore")).Select(l => l.Trim()).ToHashSet();

        Assert.Superset(new HashSet<string> { "**/bin/", "**/obj/", ".git/", "tests/" }, ignored);
    }

    [GeneratedRegex(@"^(\w+)\s*(.*)$")]
    private static partial Regex InstructionPattern();

    [GeneratedRegex(@"^(\S+)(?:\s+AS\s+(\S+))?", RegexOptions.IgnoreCase)]
    private static partial Regex FromPattern();

    [GeneratedRegex(@"--from=(\S+)")]
    private static partial Regex CopyFromPattern();
}
