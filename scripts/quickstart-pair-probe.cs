#:project ../src/LongContext.Training/LongContext.Training.csproj
#:property UsesTorchSharpNative=true
// Pair-token recall probe (docs/quickstart.md, "Diagnosis"): a one-layer-solvable recall task; pretrain at 128, needle grid,
// raise θ (critical / ×16), 200 steps at 1024, needle grid again. `dotnet run scripts/quickstart-pair-probe.cs -- LAYERS`
using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Training.Data;
using LongContext.Training.Quickstart;
using TorchSharp;
using static TorchSharp.torch;
// Pair-token recall: tokens 3.. = pair(k,v) (K keys x V values), then query tokens Q_k. Label at Q_k = pair(k, v_row(k)).
torch.set_num_threads(2);
int K = 24, V = 8; int qBase = 3 + K * V; int vocabSize = qBase + K;
// This probe keeps its own token layout (3 unused specials first); the quickstart's RecallVocabulary now has no specials but PAD.
var o = QuickstartOptions.Default with { Layers = int.Parse(args[0]) };
var cfg = QuickstartRunner.ModelConfigFor(o, new RecallVocabulary { KeyCount = K, ValueCount = V }) with { VocabSize = vocabSize };
using var model = ModelLoader.CreateRandom(cfg, CPU, ScalarType.Float32, 1);
foreach (var p in model.parameters()) p.requires_grad = true;
var rng = new Random(5);
TrainingBatch Batch(int len, int batch)
{
    var input = new long[batch * len]; var labels = new long[batch * len]; var pos = new long[batch * len];
    Array.Fill(labels, TrainingBatch.IgnoreIndex);
    for (int b = 0; b < batch; b++) { int off = b * len; var bind = Enumerable.Range(0, K).Select(_ => rng.Next(V)).ToArray(); var seen = new List<int>();
        for (int i = 0; i < len; i++) { pos[off + i] = i;
            if (seen.Count == 0 || rng.NextDouble() < 0.6) { int k = rng.Next(K); if (!seen.Contains(k)) seen.Add(k); input[off + i] = 3 + k * V + bind[k]; }
            else { int k = seen[rng.Next(seen.Count)]; input[off + i] = qBase + k; labels[off + i] = 3 + k * V + bind[k]; } } }
    return new TrainingBatch(input, labels, pos, batch, len);
}
double Needle(LlamaForCausalLM m, int len, int n)
{
    int ok = 0; using var _ = no_grad();
    for (int s = 0; s < n; s++) { var t = new long[len]; int k = rng.Next(K), v = rng.Next(V); int at = rng.Next(len - 1);
        for (int i = 0; i < len - 1; i++) { int d; do d = rng.Next(K); while (d == k); t[i] = i == at ? 3 + k * V + v : 3 + d * V + rng.Next(V); }
        t[len - 1] = qBase + k;
        var h = m.Forward(tensor(t, [1, len]), new SdpaAttentionBackend());
        if (m.Logits(h[0, len - 1]).argmax().item<long>() == 3 + k * V + v) ok++; }
    return 100.0 * ok / n;
}
var tr = new ProjectQuickstartTrainer();
var sw = System.Diagnostics.Stopwatch.StartNew();
tr.Train(model, new Src(Batch, 128, 32), new TrainingSchedule { MaxSteps = 400, PeakLearningRate = 1e-3, WarmupSteps = 30 }, null, CancellationToken.None);
Console.WriteLine($"pretrain {sw.Elapsed.TotalSeconds:F0}s; needle acc 128/512/1024: {Needle(model, 128, 60)} / {Needle(model, 512, 60)} / {Needle(model, 1024, 60)}");
foreach (var (label, theta) in new[] { ("critical", LongContext.Core.Rope.ScalingLaw.CriticalTheta(10000, 128, 1024)), ("x16", 160000.0) })
{
    var ext = QuickstartRunner.WithConfig(model, cfg with { MaxPositionEmbeddings = 1024, Rope = cfg.Rope with { RopeTheta = theta } });
    Console.WriteLine($"{label} theta {theta:F0} no-train 128/512/1024: {Needle(ext, 128, 60)} / {Needle(ext, 512, 60)} / {Needle(ext, 1024, 60)}");
    sw.Restart();
    tr.Train(ext, new Src(Batch, 1024, 4), new TrainingSchedule { MaxSteps = 200, PeakLearningRate = 1e-3, WarmupSteps = 20 }, null, CancellationToken.None);
    Console.WriteLine($"{label} after 200 steps@1024 ({sw.Elapsed.TotalSeconds:F0}s): {Needle(ext, 128, 60)} / {Needle(ext, 512, 60)} / {Needle(ext, 1024, 60)}");
}
sealed class Src(Func<int, int, TrainingBatch> f, int len, int batch) : ITrainingDataSource
{ public int SequenceLength => len; public int BatchSize => batch; public DataCursor Cursor => new(0, 0); public void Seek(DataCursor c) { } public TrainingBatch Next() => f(len, batch); }
