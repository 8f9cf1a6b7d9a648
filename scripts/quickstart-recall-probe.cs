#:project ../src/LongContext.Training/LongContext.Training.csproj
#:property UsesTorchSharpNative=true
// Throwaway diagnostics for the quickstart (docs/quickstart.md, "Diagnosis"): `dotnet run scripts/quickstart-recall-probe.cs -- ARROW UNIQUE KEYS LR STEPS KVHEADS THREADS`
// with env knobs LEN (row length), REV=1 (records `value key SEP`), ALL=1 (loss on every token), PAIR=1 (one-layer
// pair-token lookup), REPEAT=1 (copy a random segment: content-based induction), INIT (default|std), LAYERS, BETA2, WD, CLIP, WARM.
using System.Diagnostics;
using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Core.Rope;
using LongContext.Formats.Config;
using LongContext.Training.Data;
using LongContext.Training.Quickstart;
using TorchSharp;
using static TorchSharp.torch;

// args: arrow(0/1) unique(0/1) keys lr steps kvheads threads
var arrow = args[0] == "1"; var unique = args[1] == "1"; int keys = int.Parse(args[2]); double lr = double.Parse(args[3]);
int steps = int.Parse(args[4]); int kvh = int.Parse(args[5]); torch.set_num_threads(int.Parse(args[6]));
int values = keys;
var vocab = new RecordVocab(keys + 1, values); // key index `keys` used as ARROW
var o = QuickstartOptions.Default with { KeyValueHeads = kvh, Layers = (int)Program.E0("LAYERS", 2) };
var cfg = QuickstartRunner.ModelConfigFor(o, new RecallVocabulary()) with { VocabSize = vocab.Size };
torch.manual_seed(1);
using var model = Environment.GetEnvironmentVariable("INIT") is string ini ? (ini == "default" ? ModelLoader.Create(cfg, CPU, ScalarType.Float32) : ModelLoader.CreateRandom(cfg, CPU, ScalarType.Float32, 1, double.Parse(ini))) : ModelLoader.CreateRandom(cfg, CPU, ScalarType.Float32, 1);
foreach (var (n, p) in model.named_parameters().Take(3)) Console.WriteLine($"{n} std {p.std().item<float>():F3}");
foreach (var p in model.parameters()) p.requires_grad = true;
ITrainingDataSource data = Environment.GetEnvironmentVariable("PAIR") == "1" ? new Pair(128, 32) : Environment.GetEnvironmentVariable("REPEAT") == "1" ? new Repeat(vocab.Size, 128, 32) : new Probe(vocab, keys, (int)Program.E0("LEN", 128), 32, arrow, unique, 0.5);
(Tensor Loss, double Accuracy) MeanLoss(TrainingBatch bt)
{
    var batch = LongContext.Training.Loop.DeviceBatch.Upload(bt, CPU, new LongContext.Core.Attention.SdpaAttentionBackend());
    var (sum, accuracy) = ProjectQuickstartTrainer.AnswerLossSum(model, batch);
    return (sum / (double)bt.PredictedTokens, accuracy);
}
double E(string n, double d) => double.TryParse(Environment.GetEnvironmentVariable(n), out var x) ? x : d;
var ps = model.parameters().ToArray();
using var opt = optim.AdamW(ps, lr: lr, beta1: 0.9, beta2: E("BETA2", 0.95), weight_decay: E("WD", 0));
var sw = Stopwatch.StartNew(); double accs = 0, losses = 0; int warm = (int)E("WARM", 50);
for (int step = 0; step < steps; step++)
{
    using var scope = NewDisposeScope();
    foreach (var g in opt.ParamGroups) g.LearningRate = LongContext.Training.Optim.LrSchedule.At(step, lr, warm, steps, LongContext.Training.Optim.LrScheduleKind.Cosine, 0.1);
    var bt = data.Next();
    var (loss, acc) = MeanLoss(bt);
    if (Environment.GetEnvironmentVariable("ALL") == "1") {
        var lab2 = new long[bt.Labels.Length]; Array.Fill(lab2, TrainingBatch.IgnoreIndex);
        for (int i = 0; i < lab2.Length; i++) if ((i + 1) % bt.SequenceLength != 0) lab2[i] = bt.InputIds[i + 1];
        (loss, _) = MeanLoss(bt with { Labels = lab2 });
    }
    opt.zero_grad(); loss.backward();
    if (E("CLIP", 1) > 0) nn.utils.clip_grad_norm_(ps, E("CLIP", 1));
    opt.step(); accs += acc; losses += loss.item<float>();
    if ((step + 1) % 50 == 0) { Console.WriteLine($"step {step + 1} loss {losses / 50:F3} acc {accs / 50:F3} {sw.Elapsed.TotalSeconds:F0}s"); accs = losses = 0; }
}
sealed class P(Stopwatch sw) : IProgress<QuickstartStepProgress> { public void Report(QuickstartStepProgress p) { if (p.Step % 50 == 0) Console.WriteLine($"step {p.Step} loss {p.Loss:F3} acc {p.Accuracy:F3} {sw.Elapsed.TotalSeconds:F0}s"); } }

sealed class Probe(RecordVocab v, int keys, int len, int batch, bool arrow, bool unique, double qrate) : ITrainingDataSource
{
    readonly Random rng = new(42);
    public int SequenceLength => len; public int BatchSize => batch;
    public DataCursor Cursor => new(0, 0); public void Seek(DataCursor c) { }
    public TrainingBatch Next()
    {
        var input = new long[batch * len]; var labels = new long[batch * len]; var pos = new long[batch * len];
        for (int b = 0; b < batch; b++) { var (t, l) = Row(rng); t.CopyTo(input, b * len); l.CopyTo(labels, b * len); for (int i = 0; i < len; i++) pos[b * len + i] = i; }
        return new TrainingBatch(input, labels, pos, batch, len);
    }
    public (long[], long[]) Row(Random rng)
    {
        var t = new long[len]; var lab = new long[len]; Array.Fill(lab, TrainingBatch.IgnoreIndex);
        var perm = Enumerable.Range(0, keys).OrderBy(_ => rng.Next()).ToArray(); int next = 0;
        var bind = Enumerable.Range(0, keys).Select(_ => rng.Next(v.ValueCount)).ToArray();
        var seen = new List<int>(); int n = 0;
        void Put(long x) { if (n < len) t[n] = x; n++; }
        while (n < len)
        {
            if (seen.Count > 0 && rng.NextDouble() < qrate)
            {
                var k = seen[rng.Next(seen.Count)];
                Put(RecordVocab.Query); Put(v.Key(k));
                if (arrow) Put(v.Key(keys));
                if (n < len) lab[n - 1] = v.Value(bind[k]);
                Put(v.Value(bind[k]));
            }
            else
            {
                int k;
                if (unique) { if (next == keys) { next = 0; seen.Clear(); for (int i = 0; i < keys; i++) bind[i] = rng.Next(v.ValueCount); } k = perm[next++]; seen.Add(k); }
                else { k = rng.Next(keys); if (!seen.Contains(k)) seen.Add(k); }
                if (Environment.GetEnvironmentVariable("REV") == "1") { Put(v.Value(bind[k])); Put(v.Key(k)); } else { Put(v.Key(k)); Put(v.Value(bind[k])); } Put(RecordVocab.Sep);
            }
        }
        return (t, lab);
    }
}

sealed class Repeat(int vocabSize, int len, int batch) : ITrainingDataSource
{
    readonly Random rng = new(42);
    public int SequenceLength => len; public int BatchSize => batch;
    public DataCursor Cursor => new(0, 0); public void Seek(DataCursor c) { }
    public TrainingBatch Next()
    {
        var input = new long[batch * len]; var labels = new long[batch * len]; var pos = new long[batch * len];
        Array.Fill(labels, TrainingBatch.IgnoreIndex);
        for (int b = 0; b < batch; b++) { int o = b * len; for (int i = 0; i < len; i++) { input[o + i] = 3 + rng.Next(vocabSize - 3); pos[o + i] = i; }
          int m = 16, s0 = rng.Next(0, 40), p = rng.Next(s0 + m + 2, len - m);
          for (int i = 0; i < m; i++) input[o + p + i] = input[o + s0 + i];
          for (int i = 0; i < m - 1; i++) labels[o + p + i] = input[o + p + i + 1]; }
        return new TrainingBatch(input, labels, pos, batch, len);
    }
}
static partial class Program { public static double E0(string n, double d) => double.TryParse(Environment.GetEnvironmentVariable(n), out var x) ? x : d; }

sealed class Pair(int len, int batch) : ITrainingDataSource
{
    // tokens: 3..66 = pair (k,v) k,v in 0..7 ; 67..74 = query k. One attention layer suffices.
    readonly Random rng = new(42);
    public int SequenceLength => len; public int BatchSize => batch;
    public DataCursor Cursor => new(0, 0); public void Seek(DataCursor c) { }
    public TrainingBatch Next()
    {
        var input = new long[batch * len]; var labels = new long[batch * len]; var pos = new long[batch * len];
        Array.Fill(labels, TrainingBatch.IgnoreIndex);
        for (int b = 0; b < batch; b++) { int o = b * len; var bind = new int[6]; for (int k = 0; k < 6; k++) bind[k] = rng.Next(6);
          for (int i = 0; i < len; i++) { pos[o + i] = i; if (i < 6 || rng.NextDouble() < 0.5) { int k = i < 6 ? i : rng.Next(6); input[o + i] = 3 + k * 6 + bind[k]; } else { int k = rng.Next(6); input[o + i] = 39 + k; labels[o + i] = 3 + k * 6 + bind[k]; } }
        }
        return new TrainingBatch(input, labels, pos, batch, len);
    }
}

/// <summary>The old record layout (PAD, SEP, Q, keys, values) this probe studies; the quickstart now uses pair tokens.</summary>
sealed record RecordVocab(int KeyCount, int ValueCount)
{
    public const int Sep = 1;
    public const int Query = 2;
    public int Size => 3 + KeyCount + ValueCount;
    public int Key(int i) => 3 + i;
    public int Value(int i) => 3 + KeyCount + i;
}
