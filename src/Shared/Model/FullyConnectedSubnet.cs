using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Pipeline.Shared.Model;

/// <summary>
/// DifferNet's scale-and-shift network inside a coupling: four linear layers with ReLU (and optional
/// dropout) between them. <c>[B, inputs] → [B, outputs]</c>.
/// </summary>
public sealed class FullyConnectedSubnet : nn.Module<Tensor, Tensor>
{
    private readonly Linear input;
    private readonly Linear hidden1;
    private readonly Linear hidden2;
    private readonly Linear output;
    private readonly Dropout dropout;

    public FullyConnectedSubnet(string name, long inputs, long outputs, long hiddenWidth, double dropoutProbability)
        : base(name)
    {
        input = nn.Linear(inputs, hiddenWidth);
        hidden1 = nn.Linear(hiddenWidth, hiddenWidth);
        hidden2 = nn.Linear(hiddenWidth, hiddenWidth);
        output = nn.Linear(hiddenWidth, outputs);
        dropout = nn.Dropout(dropoutProbability);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.relu(dropout.call(input.call(x)));
        h = nn.functional.relu(dropout.call(hidden1.call(h)));
        h = nn.functional.relu(dropout.call(hidden2.call(h)));
        return output.call(h).MoveToOuterDisposeScope();
    }
}
