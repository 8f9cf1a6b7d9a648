using LongContext.Formats.Config;
using LongContext.Training.Plan;

namespace LongContext.Tests.Plan;

public class ContextPlannerTests
{
    private static PlanRequest Request(string preset, string gpus, long? target = null) => new()
    {
        Model = ModelPresets.Get(preset),
        ModelName = preset,
        Gpus = GpuCluster.Parse(gpus),
        Target = target,
    };

    [Fact]
    public void Llama_3_8b_to_1M_reproduces_gradients_schedule()
    {
        var plan = ContextPlanner.Plan(Request("llama-3-8b", "512xL40S", 1L << 20));
        Assert.Equal([1L << 16, 1L << 18, 1L << 19, 1L << 20], plan.Stages.Select(s => s.Length));
        Assert.Equal([62_914_560L, 100_663_296L, 419_430_400L, 838_860_800L], plan.Stages.Select(s => s.Tokens));
        Assert.Equal([30L, 24L, 50L, 50L], plan.Stages.Select(s => s.Steps));
        Assert.Equal([32, 16, 16, 16], plan.Stages.Select(s => s.BatchSequences));
        Assert.Equal(3_580_165_449d, plan.Stages[^1].Theta);
        Assert.Equal(1_421_869_056L, plan.Totals.Tokens); // the card's "1.4B"
        Assert.All(plan.Stages, s => Assert.Equal(2e-5, s.LearningRate));
    }

    [Fact]
    public void Llama_3_8b_to_4M_ends_at_gradients_4194k_theta_and_budget()
    {
        var last = ContextPlanner.Plan(Request("llama-3-8b", "512xL40S", 1L << 22)).Stages[^1];
        Assert.Equal((1L << 22, 45_218_125_210d, 201_326_592L, 12L), (last.Length, last.Theta, last.Tokens, last.Steps));
    }

    [Fact]
    public void Llama_3_70b_to_1M_ends_at_the_70b_cards_theta() =>
        Assert.Equal(3_580_165_449d, ContextPlanner.Plan(Request("llama-3-70b", "512xL40S", 1L << 20)).Stages[^1].Theta);

    [Fact]
    public void Auto_ring_is_the_smallest_that_fits_each_stage()
    {
        var request = Request("llama-3-8b", "8xH100", 1L << 19);
        var plan = ContextPlanner.Plan(request);
        Assert.Equal([1, 4, 8], plan.Stages.Select(s => s.Ring));
        foreach (var s in plan.Stages)
        {
            Assert.True(s.Fits);
            Assert.True(s.Memory.Total <= plan.Gpus.MemoryBytes);
            if (s.Ring > 1)
            {
                var smaller = MemoryModel.Estimate(request.Model, s.Length, new TrainingLayout(8, s.Ring / 2));
                Assert.True(smaller.Total > plan.Gpus.MemoryBytes);
            }
            Assert.Equal(8 / s.Ring, s.DataParallel);
        }
        Assert.Empty(plan.Warnings);
    }

    [Fact]
    public void Auto_ring_leaves_no_ring_idle_on_a_large_cluster()
    {
        // 512 GPUs, batch 32/16/16/16 sequences: at least 512/32 = 16 and 512/16 = 32 GPUs per sequence, which is
        // Gradient's 32 GPUs per sequence at 524K and 1048K.
        var plan = ContextPlanner.Plan(Request("llama-3-8b", "512xL40S", 1L << 20));
        Assert.Equal([16, 32, 32, 32], plan.Stages.Select(s => s.Ring));
        Assert.Equal([1, 1, 1, 1], plan.Stages.Select(s => s.GradAccum));
        Assert.Empty(plan.Warnings);
    }

    [Fact]
    public void A_stage_that_fits_nowhere_warns_with_the_cluster_that_would_fit()
    {
        var plan = ContextPlanner.Plan(Request("llama-3-8b", "8xH100", 1L << 20));
        Assert.False(plan.Stages[^1].Fits);
        Assert.False(plan.Totals.AllFit);
        Assert.Equal(8, plan.Stages[^1].Ring);
        Assert.Contains(plan.Warnings, w => w.Contains("Stage 4 (1M)") && w.Contains("16xH100 with --ring 16"));
    }

    [Fact]
    public void A_ring_too_small_warns_with_the_smallest_ring_that_fits()
    {
        var plan = ContextPlanner.Plan(Request("llama-3-8b", "8xH100") with { Stages = [1L << 18], Ring = 1 });
        Assert.Equal(1, plan.Stages[0].Ring);
        Assert.False(plan.Stages[0].Fits);
        Assert.Contains(plan.Warnings, w => w.Contains("use --ring 4"));
    }

    [Fact]
    public void Time_is_model_flops_over_gpus_times_peak_times_mfu()
    {
        // tiny on 1 H100, one 1K stage of 1M tokens, batch 8: 128 steps, each 8 sequences on one GPU.
        var plan = ContextPlanner.Plan(Request("tiny", "1xH100") with { Stages = [1024], TokensPerStage = [1L << 20], BatchSequences = 8, Mfu = 0.5 });
        var s = plan.Stages[0];
        Assert.Equal((128L, 8, 1L << 20), (s.Steps, s.GradAccum, s.Tokens));
        double flopsPerToken = 6.0 * 90_432 + 6.0 * 2 * 64 * 1024;
        Assert.Equal(flopsPerToken * (1L << 20), s.Flops);
        Assert.Equal(s.Flops / (989.4e12 * 0.5), s.TimeSeconds, 1e-12);
        Assert.Equal(s.TimeSeconds / 3600, s.GpuHours, 1e-15);
    }

    [Fact]
    public void Tokens_round_up_to_whole_steps_and_one_value_applies_to_every_stage()
    {
        var plan = ContextPlanner.Plan(Request("tiny", "2xH100") with { Stages = [1024, 4096], TokensPerStage = [100_000], BatchSequences = 4 });
        Assert.Equal([25L, 7L], plan.Stages.Select(s => s.Steps));          // ⌈100000/4096⌉, ⌈100000/16384⌉
        Assert.Equal([102_400L, 114_688L], plan.Stages.Select(s => s.Tokens));
        Assert.Equal([2, 2], plan.Stages.Select(s => s.GradAccum));          // 4 sequences over 2 data-parallel GPUs
    }

    [Fact]
    public void Eval_kv_cache_is_split_over_the_ring()
    {
        var s = ContextPlanner.Plan(Request("llama-3-8b", "8xH100") with { Stages = [1L << 18], Ring = 4 }).Stages[0];
        Assert.Equal(32L << 30, s.EvalKvCacheBytes); // 128 KiB/token · 256K
        Assert.Equal(8L << 30, s.EvalKvCachePerGpuBytes);
    }

    [Fact]
    public void Llama_3_1_plans_one_stage_to_1M_with_plain_rope()
    {
        var plan = ContextPlanner.Plan(Request("llama-3.1-8b", "64xH100", 1L << 20));
        var only = Assert.Single(plan.Stages);
        Assert.Equal((1L << 20, 3_580_165_449d, "default"), (only.Length, only.Theta, only.RopeType));
        Assert.Contains(plan.Notes, n => n.Contains("llama3"));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    public void Mfu_outside_0_to_1_is_rejected(double mfu) =>
        Assert.Throws<ConfigException>(() => ContextPlanner.Plan(Request("tiny", "1xH100", 1024) with { Mfu = mfu }));

    [Fact]
    public void Needs_a_target_or_stages() =>
        Assert.Contains("--target", Assert.Throws<ConfigException>(() => ContextPlanner.Plan(Request("tiny", "1xH100"))).Message);

    [Fact]
    public void Tokens_per_stage_count_must_match()
    {
        var e = Assert.Throws<ConfigException>(() => ContextPlanner.Plan(Request("tiny", "1xH100") with { Stages = [1024, 2048, 4096], TokensPerStage = [1, 2] }));
        Assert.Contains("--tokens-per-stage", e.Message);
    }
}
