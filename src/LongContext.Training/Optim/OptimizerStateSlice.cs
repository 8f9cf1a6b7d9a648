using static TorchSharp.torch;

namespace LongContext.Training.Optim;

/// <summary>
/// Elements [<see cref="Offset"/>, Offset + Values.numel) of the named optimizer state tensor (exp_avg.NAME …) of full
/// shape <see cref="Shape"/>, flattened in row-major order. A whole tensor is the slice at offset 0 with its own shape.
/// </summary>
public sealed record OptimizerStateSlice(string Name, long[] Shape, long Offset, Tensor Values)
{
    public static OptimizerStateSlice Whole(string name, Tensor values) => new(name, values.shape, 0, values);

    public long Count => Values.numel();
    public long FullCount => Shape.Aggregate(1L, (a, b) => a * b);
    public bool IsWhole => Offset == 0 && Count == FullCount;
}

/// <summary>Where a resume reads optimizer state from (a checkpoint's optimizer files, whatever world size wrote them).</summary>
public interface IOptimizerStateSource
{
    /// <summary>The file or folder, for messages.</summary>
    string Description { get; }

    /// <summary>The full shape of the named state tensor, or null when the checkpoint has none of that name.</summary>
    long[]? ShapeOf(string name);

    /// <summary>Elements [<paramref name="offset"/>, offset + <paramref name="count"/>) of the flattened tensor, as float32 on <paramref name="device"/>.</summary>
    Tensor Read(string name, long offset, long count, Device device);
}

public static class OptimizerStateSourceExtensions
{
    /// <summary>The whole named tensor, checked against <paramref name="shape"/>; errors name the checkpoint and the fix.</summary>
    public static Tensor ReadWhole(this IOptimizerStateSource source, string name, long[] shape, Device device)
    {
        var stored = source.ShapeOf(name) ?? throw new CheckpointException(
            $"{source.Description}: optimizer state {name} is missing; the checkpoint was written for a different model or set of trainable parameters.");
        if (!stored.SequenceEqual(shape))
            throw new CheckpointException(
                $"{source.Description}: optimizer state {name} has shape [{string.Join(", ", stored)}], the model needs [{string.Join(", ", shape)}].");
        return source.Read(name, 0, shape.Aggregate(1L, (a, b) => a * b), device).view(shape);
    }
}

/// <summary>Optimizer state from whole tensors by name (tests, conversions): <paramref name="load"/> returns null when absent.</summary>
public sealed class TensorStateSource(Func<string, Tensor?> load, string description) : IOptimizerStateSource
{
    public string Description { get; } = description;

    public long[]? ShapeOf(string name) => load(name)?.shape;

    public Tensor Read(string name, long offset, long count, Device device)
    {
        var t = load(name) ?? throw new CheckpointException($"{Description}: optimizer state {name} is missing.");
        return t.reshape(-1).narrow(0, offset, count).to(ScalarType.Float32, device);
    }
}
