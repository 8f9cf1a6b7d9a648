using LongContext.Core.Attention;
using LongContext.Tests.Parallel;
using LongContext.Training.Checkpoints;
using LongContext.Training.Loop;
using LongContext.Training.Optim;
using static TorchSharp.torch;
using static LongContext.Tests.Training.TrainingTestKit;

namespace LongContext.Tests.Training;

/// <summary>Corrupt checkpoints are caught by their content hashes; failed saves leave nothing behind.</summary>
public class CheckpointIntegrityTests
{
    static readonly IAttentionBackend Sdpa = new SdpaAttentionBackend();

    static TrainingOptions Saving(string outDir) => Options(outDir, maxSteps: 2) with { SaveEvery = 1, KeepLast = 0 };

    static string TrainTwoCheckpoints(string outDir)
    {
        using var model = NewModel(seed: 2);
        using var trainer = new Trainer(model, new SyntheticDataSource(1, 8), Sdpa, Saving(outDir));
        trainer.Run();
        return Path.Combine(outDir, RunCheckpointer.CheckpointsFolder, "step-000002");
    }

    [Fact]
    public void Four_KiB_flipped_inside_the_optimizer_state_are_found_and_the_previous_checkpoint_is_resumed()
    {
        using var dir = new TempDir();
        var step2 = TrainTwoCheckpoints(dir.Path);
        var optimizer = Path.Combine(step2, RunCheckpointer.OptimizerFileName);
        long size = new FileInfo(optimizer).Length;
        CheckpointDamage.FlipBytes(optimizer, 4096);
        Assert.Equal(size, new FileInfo(optimizer).Length);

        using (var model = NewModel(seed: 9))
        using (var failing = new Trainer(model, new SyntheticDataSource(1, 8), Sdpa, Saving(dir.Path) with { DamagedCheckpoint = DamagedCheckpointPolicy.Fail }))
        {
            var e = Assert.Throws<CheckpointException>(() => failing.ResumeLatest());
            Assert.Contains("optimizer.safetensors does not match its content hash", e.Message);
        }
        using (var model = NewModel(seed: 9))
        using (var forced = new Trainer(model, new SyntheticDataSource(1, 8), Sdpa, Saving(dir.Path) with { DamagedCheckpoint = DamagedCheckpointPolicy.Use }))
        {
            Assert.True(forced.ResumeLatest());
            Assert.Equal(2, forced.Step);
            Assert.Contains("anyway", Assert.Single(forced.ResumeNotes));
        }
        using var skipModel = NewModel(seed: 9);
        using var skipping = new Trainer(skipModel, new SyntheticDataSource(1, 8), Sdpa, Saving(dir.Path));
        Assert.True(skipping.ResumeLatest());
        Assert.Equal(1, skipping.Step);
        var note = Assert.Single(skipping.ResumeNotes);
        Assert.Contains("optimizer.safetensors", note);
        Assert.Contains("step-000001", note);
        Assert.True(Directory.Exists(step2 + CheckpointStore.DamagedSuffix));
        var result = skipping.Run();
        Assert.Contains(note, result.Warnings);
        Assert.Equal(2, result.FinalStep);
    }

    [Fact]
    public void When_every_checkpoint_is_damaged_the_resume_stops_naming_each()
    {
        using var dir = new TempDir();
        var step2 = TrainTwoCheckpoints(dir.Path);
        CheckpointDamage.FlipBytes(Path.Combine(step2, "model.safetensors"), 64);
        File.Delete(Path.Combine(Path.GetDirectoryName(step2)!, "step-000001", "trainer_state.json"));
        using var model = NewModel();
        using var trainer = new Trainer(model, new SyntheticDataSource(1, 8), Sdpa, Saving(dir.Path));
        var e = Assert.Throws<CheckpointException>(() => trainer.ResumeLatest());
        Assert.Contains("step-000002: " , e.Message);
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("trainer_state.json", e.Message);
    }

    [Fact]
    public void A_save_that_fails_mid_write_removes_its_staging_folder_and_keeps_the_previous_checkpoint()
    {
        using var dir = new TempDir();
        using var model = NewModel();
        DiskFullOptimizer? made = null;
        using var trainer = new Trainer(model, new SyntheticDataSource(1, 8), Sdpa, Options(dir.Path, maxSteps: 3) with { KeepLast = 0 },
            optimizer: trainable => made = new DiskFullOptimizer(new AdamW(trainable)));
        trainer.TrainStep();
        trainer.SaveCheckpoint();
        trainer.TrainStep();
        made!.Full = true;
        var e = Assert.Throws<CheckpointException>(() => trainer.SaveCheckpoint());
        Assert.Contains("No space left on device", e.Message);
        Assert.Contains("step-000001 stays the latest", e.Message);
        var root = trainer.Checkpoints.Directory;
        Assert.Equal(["step-000001"], Directory.GetDirectories(root).Select(Path.GetFileName));
        made.Full = false;
        Assert.EndsWith("step-000002", trainer.SaveCheckpoint());
    }

    [Fact]
    public void A_store_save_whose_writer_throws_leaves_no_staging_folder()
    {
        using var dir = new TempDir();
        var store = new CheckpointStore(dir.Path);
        Assert.Throws<IOException>(() => store.Save(1, d =>
        {
            File.WriteAllBytes(Path.Combine(d, "half.bin"), new byte[1000]);
            throw new IOException("No space left on device");
        }));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    /// <summary>AdamW whose state writing fails half-way with the disk-full error while <see cref="Full"/>.</summary>
    sealed class DiskFullOptimizer(AdamW inner) : IOptimizer
    {
        public bool Full { get; set; }
        public long StepCount => inner.StepCount;
        public void Step(double lr) => inner.Step(lr);
        public void ZeroGrad() => inner.ZeroGrad();
        public IEnumerable<OptimizerStateSlice> StateSlices()
        {
            int n = 0;
            foreach (var s in inner.StateSlices())
            {
                if (Full && ++n == 2) throw new IOException("No space left on device");
                yield return s;
            }
        }
        public void LoadState(long stepCount, IOptimizerStateSource source) => inner.LoadState(stepCount, source);
        public void Dispose() => inner.Dispose();
    }
}
