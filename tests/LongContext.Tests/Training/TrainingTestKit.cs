using LongContext.Core.Model;
using LongContext.Formats.Config;
using LongContext.Training.Data;
using LongContext.Training.Loop;
using static TorchSharp.torch;

namespace LongContext.Tests.Training;

/// <summary>
/// Synthetic tokens for trainer tests: sequence i of every epoch is a fixed function of (seed, i); labels are the
/// next token, −100 at each row's end and wherever <c>maskEvery</c> says (so rows predict different counts).
/// A small <c>sequencesPerEpoch</c> makes the data repeat, which a tiny model can learn.
/// </summary>
internal sealed class SyntheticDataSource(int batchSize, int sequenceLength, int vocab = 256, int seed = 1,
    int sequencesPerEpoch = 1000, int maskEvery = 0) : ITrainingDataSource
{
    public int SequenceLength { get; } = sequenceLength;
    public int BatchSize { get; } = batchSize;
    public DataCursor Cursor { get; private set; } = new(0, 0);
    public int BatchesServed { get; private set; }

    public void Seek(DataCursor cursor) => Cursor = cursor;

    public TrainingBatch Next()
    {
        int n = BatchSize * SequenceLength;
        var ids = new long[n];
        var labels = new long[n];
        var positions = new long[n];
        for (int row = 0; row < BatchSize; row++)
        {
            var (epoch, seq) = (Cursor.Epoch, Cursor.Sequence);
            var rng = new Random(unchecked((int)((seed * 1_000_003L + seq) & 0x7fffffff)));
            var tokens = Enumerable.Range(0, SequenceLength + 1).Select(_ => (long)rng.Next(vocab)).ToArray();
            for (int i = 0; i < SequenceLength; i++)
            {
                int at = row * SequenceLength + i;
                ids[at] = tokens[i];
                positions[at] = i;
                bool masked = i == SequenceLength - 1 || (maskEvery > 0 && (i + (int)seq) % maskEvery == 0);
                labels[at] = masked ? TrainingBatch.IgnoreIndex : tokens[i + 1];
            }
            Cursor = seq + 1 >= sequencesPerEpoch ? new DataCursor(epoch + 1, 0) : new DataCursor(epoch, seq + 1);
        }
        BatchesServed++;
        return new TrainingBatch(ids, labels, positions, BatchSize, SequenceLength);
    }
}

/// <summary>Records every report synchronously (Progress&lt;T&gt; would post to a thread-pool context).</summary>
internal sealed class RecordingProgress(Action<TrainingProgress>? onReport = null) : IProgress<TrainingProgress>
{
    public List<TrainingProgress> Reports { get; } = [];

    public void Report(TrainingProgress value)
    {
        Reports.Add(value);
        onReport?.Invoke(value);
    }
}

internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lc-train-" + Guid.NewGuid().ToString("N")[..12]);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

internal static class TrainingTestKit
{
    public static ModelConfig Tiny => ModelPresets.Get("tiny");

    public static LlamaForCausalLM NewModel(long seed = 0, ScalarType dtype = ScalarType.Float32, ModelConfig? config = null) =>
        ModelLoader.CreateRandom(config ?? Tiny, CPU, dtype, seed);

    public static TrainingOptions Options(string outDir, int maxSteps = 6) => new()
    {
        LearningRate = 1e-3,
        WarmupSteps = Math.Min(2, maxSteps),
        MaxSteps = maxSteps,
        MinLrRatio = 0.1,
        SaveEvery = 0,
        KeepLast = 0,
        OutDir = outDir,
    };

    /// <summary>Same shape, dtype and every element bit-equal (torch.equal).</summary>
    public static bool SameAs(this Tensor a, Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();

    /// <summary>Copies of all parameters, by name.</summary>
    public static Dictionary<string, Tensor> Snapshot(LlamaForCausalLM model) =>
        model.NamedTensors().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
}
