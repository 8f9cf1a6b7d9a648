using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LongContext.Core.Attention;
using LongContext.Formats.Config;
using LongContext.Core.Inference;
using LongContext.Core.Model;
using LongContext.Core.Rope;
using LongContext.Core.Runtime;
using LongContext.Formats.Tokenization;
using LongContext.Eval.Perplexity;
using LongContext.Formats;
using LongContext.Training.Data;
using LongContext.Training.Export;
using LongContext.Training.Plan;
using LongContext.Training.Quickstart;
using LongContext.Training.Recipes;
using LongContext.Training.Tokenizers;
using LongContext.Training.Loop;
using LongContext.Training.Loss;
using LongContext.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Training.CodeRecipe;

/// <summary>One training phase as the report's stage table shows it.</summary>
public sealed record PhaseStats(string Name, int Length, double RopeTheta, int Steps, int RowsPerStep, long Tokens, double Seconds, double TokensPerSecond,
    double? Mfu, double FirstLoss, double FinalLoss, bool CutByBudget, long PeakMemoryBytes);

/// <summary>Everything the run measured; <see cref="CodeRecipeReport"/> turns it into report.md, summary.json and plots.</summary>
public sealed class CodeRecipeResult
{
    public required CodeRecipeOptions Options { get; init; }
    public ModelConfig BaseConfig { get; set; } = null!;
    public long Parameters { get; set; }
    public string Device { get; set; } = "";
    public string TokenizerSource { get; set; } = "";
    public BpeTrainingResult? Tokenizer { get; set; }
    public long CorpusFiles { get; set; }
    public long CorpusCharacters { get; set; }
    public int TrainingPackages { get; set; }
    public int HeldOutPackages { get; set; }
    public long PretrainCorpusTokens { get; set; }
    public long PackageCorpusTokens { get; set; }
    public int PackagesAtFinalLength { get; set; }
    public List<PhaseStats> Phases { get; } = [];
    public List<VariantScores> Variants { get; } = [];
    /// <summary>What the time budget made the run skip or shrink, in words.</summary>
    public List<string> Cuts { get; } = [];
    public Dictionary<string, double> PhaseSeconds { get; } = [];
    public double TotalSeconds { get; set; }
}

/// <summary>
/// Runs the 64× recipe end to end inside a wall-clock budget (<see cref="CodeRecipeOptions"/>): corpus → own BPE
/// tokenizer → pretraining at L₀ with passkey rows → base evaluations and the training-free baselines (θ raised, linear
/// interpolation, dynamic NTK, YaRN: config overrides beside the base weights) → progressive stages with the
/// scaling-law θ on whole packages → evaluation after each stage → report. Each finished phase is one JSON line in
/// OUT/events.jsonl, so a run that is cut short keeps what it finished.
/// </summary>
public sealed class CodeRecipeRunner
{
    readonly CodeRecipeOptions o;
    readonly IProgress<string>? log;
    readonly Stopwatch clock = Stopwatch.StartNew();
    readonly string outDir;
    double evalSecondsPerUnit = double.NaN;   // measured: evaluation seconds per unit of PasskeyCost

    public CodeRecipeRunner(CodeRecipeOptions options, IProgress<string>? log = null)
    {
        o = options.Validate();
        this.log = log;
        outDir = Path.GetFullPath(o.OutDir);
    }

    double Left => o.TimeBudgetSeconds - clock.Elapsed.TotalSeconds;

    void Log(string line) => log?.Report(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed.TotalSeconds,6:F1} s] {line}"));

    public async Task<CodeRecipeResult> RunAsync(CancellationToken ct = default)
    {
        Directory.CreateDirectory(outDir);
        File.Delete(EventsPath);
        var device = TorchRuntime.ResolveDevice(o.Device);
        var dtype = TorchRuntime.ResolveDtype(null, device);
        if (device.type == DeviceType.CPU) torch.set_num_threads(Environment.ProcessorCount);
        var backend = EngineSession.DefaultBackend(device);
        var result = new CodeRecipeResult { Options = o, Device = $"{device} ({dtype}, {backend.Name})" };

        // 1. Corpus: files of training packages (pretraining), whole packages (extension), held-out packages (perplexity).
        var phase = Stopwatch.StartNew();
        var corpus = CodeCorpus.Load(o.DataDir, o.Include, o.MaxCorpusCharacters, o.HeldOutPackages, heldOutMinCharacters: o.FinalLength * 4L, ct);
        result.CorpusFiles = corpus.Training.Sum(p => p.Files.Count);
        result.CorpusCharacters = corpus.TrainingCharacters;
        result.TrainingPackages = corpus.Training.Count;
        result.HeldOutPackages = corpus.HeldOut.Count;
        Log($"corpus: {result.CorpusFiles:N0} files in {corpus.Training.Count} packages ({corpus.TrainingCharacters / 1e6:F0} M chars), {corpus.HeldOut.Count} packages held out");
        Event("corpus", new { files = result.CorpusFiles, characters = result.CorpusCharacters, packages = corpus.Training.Count, held_out = corpus.HeldOut.Select(p => p.Name).ToArray() });
        result.PhaseSeconds["corpus"] = phase.Elapsed.TotalSeconds;

        // 2. Tokenizer: ours, trained here, unless the user gave one.
        phase.Restart();
        string tokenizerDir = Path.Combine(outDir, "tokenizer");
        if (o.TokenizerDir is string given)
        {
            tokenizerDir = Path.GetFullPath(given);
            result.TokenizerSource = $"given: {tokenizerDir}";
        }
        else
        {
            var trainerOptions = new BpeTrainerOptions { VocabSize = o.VocabSize, MaxCharacters = o.TokenizerCharacters };
            var files = corpus.Training.SelectMany(p => p.Files).ToList();
            long stride = Math.Max(1, (long)Math.Ceiling(corpus.TrainingCharacters / (double)o.TokenizerCharacters));
            var trained = BpeTrainer.Train(files.Where((_, i) => i % stride == 0).Select(f => f.Text), trainerOptions, ct: ct);
            BpeTrainer.Save(trained, trainerOptions, tokenizerDir);
            result.Tokenizer = trained;
            result.TokenizerSource = "trained by LongContext.Training.Tokenizers.BpeTrainer on this corpus";
            Log($"tokenizer: {trained.VocabSize} ids from {trained.Characters / 1e6:F1} M chars in {trained.CountSeconds + trained.MergeSeconds:F1} s ({trained.BytesPerToken:F2} bytes/token)");
            Event("tokenizer", trained with { TokenizerJson = "" });
        }
        var tokenizer = HfTokenizer.Load(tokenizerDir);
        int eos = tokenizer.EosTokenId ?? throw new ConfigException($"{tokenizerDir}: the tokenizer names no eos_token (tokenizer_config.json); the recipe ends documents with it.");
        result.PhaseSeconds["tokenizer"] = phase.Elapsed.TotalSeconds;

        // 3. Token corpora.
        phase.Restart();
        var (fileCorpus, packageCorpus) = CodeCorpus.TokenizeFilesAndPackages(corpus.Training, tokenizer, eos, ct);
        result.PretrainCorpusTokens = fileCorpus.TokenCount;
        result.PackageCorpusTokens = packageCorpus.TokenCount;
        result.PackagesAtFinalLength = Enumerable.Range(0, (int)packageCorpus.DocumentCount).Count(d => packageCorpus.DocumentLength(d) >= o.FinalLength);
        var heldOutDocs = corpus.HeldOut.Select(p => p.AsDocument()).Select(d => new PerplexityDocument(d.Id, d.Text)).ToList();
        Log($"tokens: {fileCorpus.TokenCount / 1e6:F1} M (files), {packageCorpus.TokenCount / 1e6:F1} M (packages; {result.PackagesAtFinalLength} of {packageCorpus.DocumentCount} reach {o.FinalLength})");
        Event("tokens", new { files = fileCorpus.TokenCount, packages = packageCorpus.TokenCount, packages_at_final_length = result.PackagesAtFinalLength });
        result.PhaseSeconds["tokenize"] = phase.Elapsed.TotalSeconds;

        var baseConfig = ModelPresets.Get("tiny") with
        {
            VocabSize = tokenizer.VocabSize, HiddenSize = o.HiddenSize, IntermediateSize = o.IntermediateSize, NumHiddenLayers = o.Layers,
            NumAttentionHeads = o.Heads, NumKeyValueHeads = o.KeyValueHeads, HeadDim = o.HiddenSize / o.Heads, MaxPositionEmbeddings = o.BaseLength,
            Rope = new RopeParameters { RopeType = "default", RopeTheta = o.RopeTheta }, BosTokenId = tokenizer.BosTokenId, EosTokenIds = [eos],
            TieWordEmbeddings = false,
        };
        result.BaseConfig = baseConfig;
        result.Parameters = ModelMath.ParameterCount(baseConfig);
        double? peak = device.type == DeviceType.CUDA ? o.PeakFlops : null;

        // 4. Pretrain at L₀: cosine schedule sized by a short timing of the same shape (a throwaway copy).
        phase.Restart();
        var pretrainData = new PasskeyRows(RecipeData.Pack(fileCorpus, o.BaseLength, o.PretrainRows, o.Seed), tokenizer, eos, o.PasskeyFraction, o.Seed);
        double slot = o.PretrainShare * o.TimeBudgetSeconds;
        double stepSeconds = TimeSteps(baseConfig, device, dtype, backend, pretrainData);
        int pretrainSteps = Math.Max(o.PretrainWarmup + 10, (int)(slot / stepSeconds));
        Log($"pretrain: {result.Parameters / 1e6:F1} M parameters at {o.BaseLength} tokens, {o.PretrainRows} rows/step ({o.PasskeyFraction:P0} passkey rows), {stepSeconds:F3} s/step → {pretrainSteps} steps");
        using var model = ModelLoader.CreateRandom(baseConfig, device, dtype, o.Seed);
        var pre = Train("pretrain", model, pretrainData, o.PretrainLearningRate, o.PretrainWarmup, LrScheduleKind.Cosine, pretrainSteps, slot * 1.15, peak, ct);
        result.Phases.Add(pre);
        Event("phase", pre);
        var baseDir = Export(model, Path.Combine(outDir, "models", "base"), tokenizerDir);
        result.PhaseSeconds["pretrain"] = phase.Elapsed.TotalSeconds;

        // 5. Stage models: each from the previous, θ from the scaling law for its length (the planner's rule).
        var thetas = ThetaRule.Default.ThetasFor(RopeBaseline.From(baseConfig), o.Stages.Select(s => (long)s).ToList());
        var pending = new List<(string Name, string Description, string Dir)>
        {
            ("base", $"pretrained at {o.BaseLength}, θ = {o.RopeTheta:N0}", baseDir),
        };
        foreach (var (name, description, config) in Baselines(baseConfig, thetas[^1]))
            pending.Add((name, description, ConfigOverride(baseDir, Path.Combine(outDir, "models", name), config)));
        // Evaluate the base and its training-free variants first: they need nothing the stages make.
        foreach (var v in pending) await EvaluateAsync(result, v.Name, v.Description, v.Dir, heldOutDocs, remainingVariants: pending.Count + o.Stages.Count, ct);

        var current = model;
        var owned = new List<LlamaForCausalLM>();
        try
        {
            for (int i = 0; i < o.Stages.Count; i++)
            {
                phase.Restart();
                int length = o.Stages[i];
                var stageConfig = ExtendRecipe.StageConfig(current.Config, thetas[i], length);
                var stageModel = QuickstartRunner.WithConfig(current, stageConfig);
                owned.Add(stageModel);
                int rows = Math.Max(1, o.ExtensionTokensPerStep / length);
                var data = RecipeData.Pack(packageCorpus, length, rows, o.Seed + 1 + i);
                double stageSlot = o.StageShares[i] * o.TimeBudgetSeconds;
                int upper = Math.Max(o.ExtensionWarmup + 1, (int)(stageSlot / Math.Max(1e-3, stepSeconds * length / (double)o.BaseLength * rows / o.PretrainRows)) * 4);
                string name = "stage-" + ContextLength.Format(length);
                Log($"{name}: θ = {thetas[i]:N0}, {rows} rows × {length} tokens per step, budget {stageSlot:F0} s");
                var stats = Train(name, stageModel, data, o.ExtensionLearningRate, o.ExtensionWarmup, LrScheduleKind.Constant, upper, stageSlot, peak, ct) with { RopeTheta = thetas[i] };
                result.Phases.Add(stats);
                Event("phase", stats);
                var dir = Export(stageModel, Path.Combine(outDir, "models", name), tokenizerDir);
                result.PhaseSeconds[name] = phase.Elapsed.TotalSeconds;
                current = stageModel;
                await EvaluateAsync(result, name, $"recipe after the {ContextLength.Format(length)} stage (θ = {thetas[i]:N0}, {stats.Steps} steps)", dir, heldOutDocs,
                    remainingVariants: o.Stages.Count - i, ct);
            }
        }
        finally
        {
            foreach (var m in owned) m.Dispose();
        }

        // 6. RULER on the base model and the final stage, in what time is left.
        await RulerAsync(result, ct);
        result.TotalSeconds = clock.Elapsed.TotalSeconds;
        Event("done", new { total_seconds = result.TotalSeconds, cuts = result.Cuts });
        return result;
    }

    string EventsPath => Path.Combine(outDir, "events.jsonl");

    static readonly JsonSerializerOptions EventJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, IncludeFields = true };

    /// <summary>One JSON line per finished item, appended and flushed at once.</summary>
    void Event<T>(string kind, T value)
    {
        var node = new JsonObject { ["event"] = kind, ["at_s"] = Math.Round(clock.Elapsed.TotalSeconds, 2), ["data"] = JsonSerializer.SerializeToNode(value, EventJson) };
        File.AppendAllText(EventsPath, node.ToJsonString() + "\n", new UTF8Encoding(false));
    }

    /// <summary>Seconds per optimizer step of this shape and data, timed on a throwaway copy (steps 3–5 of 5).</summary>
    static double TimeSteps(ModelConfig config, Device device, ScalarType dtype, IAttentionBackend backend, ITrainingDataSource data)
    {
        using var probe = ModelLoader.CreateRandom(config, device, dtype, 99);
        var dir = Path.Combine(Path.GetTempPath(), "longctx-recipe-probe-" + Guid.NewGuid().ToString("N")[..8]);
        var cursor = data.Cursor;
        try
        {
            using var trainer = new Trainer(probe, data, backend, new TrainingOptions { LearningRate = 1e-4, MaxSteps = 5, SaveEvery = 0, OutDir = dir }, NewLoss(device));
            var times = Enumerable.Range(0, 5).Select(_ => trainer.TrainStep().StepSeconds).ToList();
            return times.Skip(2).Average();
        }
        finally
        {
            data.Seek(cursor);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    static LongSequenceLoss NewLoss(Device device) => device.type == DeviceType.CUDA
        ? new LongSequenceLoss(autoCheckpointing: true)
        : new LongSequenceLoss(recomputedLayers: 0);

    /// <summary>Trains through the project's Trainer (one TrainStep per step) until maxSteps or the phase's time is up.</summary>
    PhaseStats Train(string name, LlamaForCausalLM model, ITrainingDataSource data, double lr, int warmup, LrScheduleKind schedule, int maxSteps,
        double seconds, double? peak, CancellationToken ct)
    {
        var dir = Path.Combine(outDir, "train", name);
        Directory.CreateDirectory(dir);
        var metricsPath = Path.Combine(dir, "metrics.jsonl");
        File.Delete(metricsPath);
        var options = new TrainingOptions
        {
            LearningRate = lr, WarmupSteps = Math.Min(warmup, maxSteps), Schedule = schedule, MaxSteps = maxSteps, MinLrRatio = 0.1,
            WeightDecay = 0.1, Beta1 = 0.9, Beta2 = 0.95, SaveEvery = 0, OutDir = dir, PeakFlopsPerSecond = peak, Seed = o.Seed,
        };
        var clockPhase = Stopwatch.StartNew();
        var steps = new List<StepMetrics>();
        bool cut = false;
        using (var trainer = new Trainer(model, data, EngineSession.DefaultBackend(model.Device), options, NewLoss(model.Device)))
        {
            while (steps.Count < maxSteps)
            {
                ct.ThrowIfCancellationRequested();
                double perStep = steps.Count == 0 ? 0 : clockPhase.Elapsed.TotalSeconds / steps.Count;
                if (steps.Count > 0 && clockPhase.Elapsed.TotalSeconds + perStep > seconds)
                {
                    cut = schedule == LrScheduleKind.Cosine;   // a constant-LR stage is meant to run until its time is up
                    break;
                }
                var m = trainer.TrainStep();
                steps.Add(m);
                File.AppendAllText(metricsPath, JsonSerializer.Serialize(m) + "\n");
                if (m.Step % 25 == 0 || m.Step == 1) Log($"{name} step {m.Step}/{maxSteps}: loss {m.Loss:F3}, {m.TokensPerSecond:N0} tok/s");
            }
        }
        model.eval();
        double wall = clockPhase.Elapsed.TotalSeconds;
        long tokens = steps.Sum(s => s.Tokens);
        double tps = tokens / Math.Max(wall, 1e-9);
        double? mfu = peak is double p ? FlopModel.TrainingFlopsPerToken(model.Config, data.SequenceLength) * tps / p : null;
        var stats = new PhaseStats(name, data.SequenceLength, model.Config.Rope.RopeTheta, steps.Count, data.BatchSize, tokens, wall, tps, mfu,
            steps.Count > 0 ? steps[0].Loss : double.NaN, steps.Count > 0 ? steps.Skip(Math.Max(0, steps.Count - 10)).Average(s => s.Loss) : double.NaN,
            cut, steps.Count > 0 ? steps.Max(s => s.PeakMemoryBytes) : 0);
        Log($"{name}: {stats.Steps} steps, {stats.Tokens / 1e6:F1} M tokens in {wall:F1} s ({tps:N0} tok/s{(mfu is double f ? $", MFU {f:P0}" : "")}), loss {stats.FirstLoss:F2} → {stats.FinalLoss:F2}");
        return stats;
    }

    static string Export(LlamaForCausalLM model, string dir, string tokenizerDir)
    {
        using (no_grad())
            HfExporter.Export(model, dir, new HfExportOptions { TokenizerSourceDir = tokenizerDir, Overwrite = true });
        return dir;
    }

    /// <summary>The training-free baselines at the final length, as HF rope configs over the base weights.</summary>
    IEnumerable<(string Name, string Description, ModelConfig Config)> Baselines(ModelConfig b, double finalTheta)
    {
        double factor = o.Factor;
        int target = o.FinalLength;
        yield return ("theta-only", $"base weights, θ → {finalTheta:N0} (scaling law for {ContextLength.Format(target)}), no training",
            b with { MaxPositionEmbeddings = target, Rope = new RopeParameters { RopeType = "default", RopeTheta = finalTheta } });
        yield return ("linear", $"base weights, linear position interpolation ×{factor:0}",
            b with { MaxPositionEmbeddings = target, Rope = new RopeParameters { RopeType = "linear", RopeTheta = o.RopeTheta, Factor = factor } });
        yield return ("dynamic-ntk", $"base weights, dynamic NTK ×{factor:0}",
            b with { Rope = new RopeParameters { RopeType = "dynamic", RopeTheta = o.RopeTheta, Factor = factor } });
        yield return ("yarn", $"base weights, YaRN ×{factor:0} (original {o.BaseLength})",
            b with { MaxPositionEmbeddings = target, Rope = new RopeParameters { RopeType = "yarn", RopeTheta = o.RopeTheta, Factor = factor, OriginalMaxPositionEmbeddings = o.BaseLength } });
    }

    /// <summary>A model folder holding only a config.json of its own: weights and tokenizer files are links to the base folder's (copies where links fail).</summary>
    static string ConfigOverride(string baseDir, string dir, ModelConfig config)
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(baseDir))
        {
            var name = Path.GetFileName(file);
            if (name is "config.json") continue;
            var target = Path.Combine(dir, name);
            try { File.CreateSymbolicLink(target, file); }
            catch (IOException) { File.Copy(file, target); }
            catch (UnauthorizedAccessException) { File.Copy(file, target); }
        }
        ModelConfigWriter.WriteToDirectory(config, dir);
        return dir;
    }

    /// <summary>Relative cost of a passkey grid: Σ over prompts of (L + L²/2048), the dense and attention parts of a forward.</summary>
    static double PasskeyCost(IReadOnlyList<int> lengths, int depths, int samples) => lengths.Sum(l => (l + l * (double)l / 2048) * depths * samples) + 1;

    async Task EvaluateAsync(CodeRecipeResult result, string name, string description, string dir, IReadOnlyList<PerplexityDocument> docs,
        int remainingVariants, CancellationToken ct)
    {
        // Time left for evaluation: the budget minus the training still to come and a reserve for RULER and the report.
        double training = o.StageShares.Skip(result.Phases.Count - 1).Sum() * o.TimeBudgetSeconds;
        double allowance = Math.Max(0, (Left - training - 0.06 * o.TimeBudgetSeconds) / Math.Max(1, remainingVariants));
        var lengths = o.PasskeyGrid.ToList();
        int depths = o.PasskeyDepths, samples = o.PasskeySamples;
        if (!double.IsNaN(evalSecondsPerUnit))
        {
            var before = (lengths.Count, depths, samples);
            while (evalSecondsPerUnit * PasskeyCost(lengths, depths, samples) > allowance && samples > 1) samples--;
            while (evalSecondsPerUnit * PasskeyCost(lengths, depths, samples) > allowance && lengths.Count > 3)
                lengths.RemoveAt(lengths.Count - 2);   // keep the shortest and the longest lengths
            while (evalSecondsPerUnit * PasskeyCost(lengths, depths, samples) > allowance && depths > 2) depths--;
            if (before != (lengths.Count, depths, samples))
                result.Cuts.Add($"{name}: passkey grid cut from {o.PasskeyGrid.Count} lengths × {o.PasskeyDepths} depths × {o.PasskeySamples} samples to {lengths.Count} × {depths} × {samples} (about {allowance:F0} s left for it)");
        }
        var grid = new VariantEvaluator.Grid(lengths, depths, samples, o.FinalLength, o.PerplexityDocuments, [], [], 0);
        Log($"eval {name}: passkey {lengths.Count} lengths × {depths} depths × {samples}, perplexity on {Math.Min(o.PerplexityDocuments, docs.Count)} held-out packages");
        var scores = await new VariantEvaluator(Path.Combine(outDir, "eval"), o.Device).EvaluateAsync(name, description, dir, grid, docs, ct);
        double units = PasskeyCost(lengths, depths, samples);
        evalSecondsPerUnit = double.IsNaN(evalSecondsPerUnit) ? scores.Seconds / units : Math.Max(evalSecondsPerUnit * 0.5, (evalSecondsPerUnit + scores.Seconds / units) / 2);
        result.Variants.Add(scores);
        Event("eval", new { name, description, passkey = scores.PasskeyByLength, perplexity_last_bucket = scores.PerplexityByPosition.LastOrDefault()?.Perplexity, seconds = scores.Seconds });
        Log($"eval {name}: passkey {string.Join(", ", scores.PasskeyByLength.Select(kv => $"{ContextLength.Format(kv.Key)} {kv.Value:F0}%"))} ({scores.Seconds:F1} s)");
    }

    async Task RulerAsync(CodeRecipeResult result, CancellationToken ct)
    {
        var targets = result.Variants.Where(v => v.Name == "base").Concat(result.Variants.Where(v => v.Name.StartsWith("stage-", StringComparison.Ordinal)).TakeLast(1)).ToList();
        var lengths = o.RulerLengths.ToList();
        if (lengths.Count == 0) result.Cuts.Add("RULER: no recipe length reaches 512 tokens, where its templates fit");
        foreach (var v in targets.Where(_ => lengths.Count > 0))
        {
            double reserve = 0.03 * o.TimeBudgetSeconds;
            if (Left < reserve + 10)
            {
                result.Cuts.Add($"RULER on {v.Name}: skipped, {Left:F0} s left");
                continue;
            }
            // Start short; the longest lengths only when the measured pace says they fit.
            var grid = new VariantEvaluator.Grid([], 0, 0, 0, 0, o.RulerTasks, lengths, o.RulerSamples);
            var clockRuler = Stopwatch.StartNew();
            Log($"RULER {v.Name}: {o.RulerTasks.Count} tasks × {string.Join(",", lengths.Select(l => ContextLength.Format(l)))} × {o.RulerSamples} samples");
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(TimeSpan.FromSeconds(Math.Max(1, Left - reserve)));
                var s = await new VariantEvaluator(Path.Combine(outDir, "eval"), o.Device).EvaluateAsync(v.Name, v.Description, v.ModelDir, grid, [], cts.Token);
                v.Ruler.AddRange(s.Ruler);
                result.Cuts.AddRange(s.Notes);
                Event("ruler", new { name = v.Name, scores = s.Ruler.Select(r => new { task = r.Task, length = r.Length, score = r.Score }) });
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                result.Cuts.Add($"RULER on {v.Name}: stopped by the time budget after {clockRuler.Elapsed.TotalSeconds:F0} s (finished items are in eval/{v.Name}/ruler)");
            }
            catch (Eval.EvalException e)
            {
                result.Cuts.Add($"RULER on {v.Name}: not run ({e.Message})");
            }
        }
    }

    /// <summary>Writes the report from a finished run.</summary>
    public static string WriteReport(CodeRecipeResult result) => CodeRecipeReport.Write(result);
}
