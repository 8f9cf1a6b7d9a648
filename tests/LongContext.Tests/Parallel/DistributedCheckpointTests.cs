using LongContext.Tests.Training;
using LongContext.Training.Checkpoints;
using LongContext.Training.Loop;
using LongContext.Training.Topology;
using static LongContext.Tests.Parallel.DataParallelKit;
using static LongContext.Tests.Training.TrainingTestKit;

namespace LongContext.Tests.Parallel;

/// <summary>Checkpoints saved cooperatively by data-parallel ranks: re-sharded on resume, never half-committed, damage detected.</summary>
public class DistributedCheckpointTests
{
    static TrainingOptions Saving(string outDir) => DpOptions(outDir) with { SaveEvery = 2, KeepLast = 0 };

    static void CopyCheckpoint(string from, string toOutDir)
    {
        var target = Path.Combine(toOutDir, RunCheckpointer.CheckpointsFolder, Path.GetFileName(from));
        Directory.CreateDirectory(target);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
    }

    [Fact]
    public void A_checkpoint_saved_at_dp_4_resumes_at_dp_2_and_at_1_with_the_same_next_step_losses()
    {
        using var dir = new TempDir();
        using var referenceModel = NewModel(seed: 10);
        using var reference = NewTrainer(SingleProcessTopology.Instance, Saving(Path.Combine(dir.Path, "one")), recompute: false, referenceModel);
        var expected = reference.Run().Steps.Select(s => s.Loss).ToList();

        OnRanks(4, 2, topology =>
        {
            using var model = NewModel(seed: 10);
            using var trainer = NewTrainer(topology, Saving(Path.Combine(dir.Path, "dp4")), recompute: false, model);
            return trainer.Run().FinalStep;
        });
        var step2 = Path.Combine(dir.Path, "dp4", RunCheckpointer.CheckpointsFolder, "step-000002");
        var manifest = CheckpointStore.ReadManifest(step2);
        Assert.Equal(4, manifest.WorldSize);
        Assert.Contains(manifest.Files, f => f.Name == "optimizer-00004-of-00004.safetensors" && f.Xxh128 is { Length: 32 });
        Assert.Contains(manifest.Files, f => f.Name == OptimizerStateFiles.IndexFileName);

        // dp 2 with ZeRO-1 (other shards), and one process with plain AdamW, from the same checkpoint.
        var atTwo = ResumeOnRanks(step2, Path.Combine(dir.Path, "dp2"), dp: 2, zero: 1);
        CopyCheckpoint(step2, Path.Combine(dir.Path, "dp1"));
        using var oneModel = NewModel(seed: 78);
        using var one = NewTrainer(SingleProcessTopology.Instance, Saving(Path.Combine(dir.Path, "dp1")), recompute: false, oneModel);
        Assert.True(one.ResumeLatest());
        var atOne = one.Run().Steps.Select(s => s.Loss).ToList();

        AssertCloseSeries(expected[2..], atTwo, 1e-5, "dp 4 → 2");
        AssertCloseSeries(expected[2..], atOne, 1e-5, "dp 4 → 1");

        // And back: the single process's whole-tensor checkpoint resumes sharded (ZeRO-2 at dp 2).
        var back = ResumeOnRanks(Path.Combine(dir.Path, "one", RunCheckpointer.CheckpointsFolder, "step-000002"), Path.Combine(dir.Path, "back"), dp: 2, zero: 2);
        AssertCloseSeries(expected[2..], back, 1e-5, "dp 1 → 2");
    }

    /// <summary>Copies a checkpoint into a fresh run folder and resumes it on <paramref name="dp"/> ranks (other initial weights); rank 0's losses.</summary>
    static List<double> ResumeOnRanks(string checkpoint, string outDir, int dp, int zero)
    {
        CopyCheckpoint(checkpoint, outDir);
        return OnRanks(dp, zero, topology =>
        {
            using var model = NewModel(seed: 77);
            using var trainer = NewTrainer(topology, Saving(outDir), recompute: false, model);
            Assert.True(trainer.ResumeLatest());
            return trainer.Run().Steps.Select(s => s.Loss).ToList();
        })[0];
    }

    [Fact]
    public void A_rank_that_dies_during_a_save_leaves_the_previous_checkpoint_as_the_one_resumed()
    {
        using var dir = new TempDir();
        var options = DpOptions(Path.Combine(dir.Path, "run"), maxSteps: 3) with { SaveEvery = 1, KeepLast = 0 };
        using var referenceModel = NewModel(seed: 10);
        using var reference = NewTrainer(SingleProcessTopology.Instance, options with { OutDir = Path.Combine(dir.Path, "one") }, recompute: false, referenceModel);
        var expected = reference.Run().Steps.Select(s => s.Loss).ToList();

        // A save is three exchanges (staged, parts written, committed): rank 1 dies after writing its part of the
        // second checkpoint, before rank 0 could commit it.
        Assert.ThrowsAny<Exception>(() => OnRanks(2, 1, topology =>
        {
            using var model = NewModel(seed: 10);
            var rank = topology.Rank == 1 ? new FailingTopology(topology, failExchange: n => n == 5) : (ITrainingTopology)topology;
            using var trainer = NewTrainer(rank, options, recompute: false, model);
            return trainer.Run().FinalStep;
        }, timeout: TimeSpan.FromSeconds(20)));

        var store = new CheckpointStore(Path.Combine(options.OutDir, RunCheckpointer.CheckpointsFolder));
        Assert.Equal([1], store.List().Select(c => c.Step));
        using var model = NewModel(seed: 5);
        using var resumed = NewTrainer(SingleProcessTopology.Instance, options, recompute: false, model);
        Assert.True(resumed.ResumeLatest());
        Assert.Equal(1, resumed.Step);
        AssertCloseSeries(expected[1..], resumed.Run().Steps.Select(s => s.Loss).ToList(), 1e-5, "resumed after the failed save");
        Assert.Empty(Directory.GetDirectories(store.Directory, "*.tmp"));
    }

    [Fact]
    public void A_damaged_optimizer_part_makes_every_rank_fall_back_to_the_previous_checkpoint_naming_the_file()
    {
        using var dir = new TempDir();
        var options = DpOptions(Path.Combine(dir.Path, "run"), maxSteps: 2) with { SaveEvery = 1, KeepLast = 0 };
        OnRanks(2, 1, topology =>
        {
            using var model = NewModel(seed: 10);
            using var trainer = NewTrainer(topology, options, recompute: false, model);
            return trainer.Run().FinalStep;
        });
        var step2 = Path.Combine(options.OutDir, RunCheckpointer.CheckpointsFolder, "step-000002");
        CheckpointDamage.FlipBytes(Path.Combine(step2, "optimizer-00002-of-00002.safetensors"), 4096);

        var resumed = OnRanks(2, 1, topology =>
        {
            using var model = NewModel(seed: 3);
            using var trainer = NewTrainer(topology, options, recompute: false, model);
            Assert.True(trainer.ResumeLatest());
            return (trainer.Step, string.Join("\n", trainer.ResumeNotes));
        });
        Assert.All(resumed, r => Assert.Equal(1, r.Step));
        Assert.Contains("optimizer-00002-of-00002.safetensors", resumed[0].Item2);
        Assert.True(Directory.Exists(step2 + CheckpointStore.DamagedSuffix));
    }
}

internal static class CheckpointDamage
{
    /// <summary>Inverts <paramref name="count"/> bytes in the middle of a file (its size unchanged).</summary>
    public static void FlipBytes(string path, int count)
    {
        var bytes = File.ReadAllBytes(path);
        int start = Math.Max(0, bytes.Length / 2 - count / 2);
        for (int i = start; i < Math.Min(bytes.Length, start + count); i++) bytes[i] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
    }
}
