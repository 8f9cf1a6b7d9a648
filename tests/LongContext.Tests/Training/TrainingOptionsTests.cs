using System.Text.Json;
using LongContext.Training.Loop;
using LongContext.Training.Optim;

namespace LongContext.Tests.Training;

public class TrainingOptionsTests
{
    [Theory]
    [InlineData("learning_rate")]
    [InlineData("min_lr_ratio")]
    [InlineData("warmup_steps")]
    [InlineData("max_steps")]
    [InlineData("gradient_accumulation")]
    [InlineData("max_grad_norm")]
    [InlineData("weight_decay")]
    [InlineData("beta1")]
    [InlineData("beta2")]
    [InlineData("eps")]
    [InlineData("save_every")]
    [InlineData("keep_last")]
    [InlineData("out_dir")]
    [InlineData("peak_flops")]
    public void Invalid_values_are_rejected_with_the_option_named(string key)
    {
        var ok = new TrainingOptions { MaxSteps = 10, WarmupSteps = 2 };
        ok.Validate();
        var bad = key switch
        {
            "learning_rate" => ok with { LearningRate = 0 },
            "min_lr_ratio" => ok with { MinLrRatio = 1.5 },
            "warmup_steps" => ok with { WarmupSteps = 11 },
            "max_steps" => ok with { MaxSteps = 0, WarmupSteps = 0 },
            "gradient_accumulation" => ok with { GradientAccumulation = 0 },
            "max_grad_norm" => ok with { MaxGradNorm = -1 },
            "weight_decay" => ok with { WeightDecay = double.NaN },
            "beta1" => ok with { Beta1 = 1.0 },
            "beta2" => ok with { Beta2 = -0.1 },
            "eps" => ok with { Eps = 0 },
            "save_every" => ok with { SaveEvery = -1 },
            "keep_last" => ok with { KeepLast = -2 },
            "out_dir" => ok with { OutDir = " " },
            "peak_flops" => ok with { PeakFlopsPerSecond = 0 },
            _ => throw new ArgumentException(key),
        };
        var e = Assert.Throws<ConfigException>(() => bad.Validate());
        Assert.StartsWith($"training option {key} = ", e.Message);
    }

    [Fact]
    public void Json_uses_snake_case_and_rejects_unknown_keys()
    {
        var o = JsonSerializer.Deserialize<TrainingOptions>("""{"learning_rate": 1e-5, "schedule": "Constant", "gradient_accumulation": 4}""", TrainingOptions.JsonOptions)!;
        Assert.Equal(1e-5, o.LearningRate);
        Assert.Equal(LrScheduleKind.Constant, o.Schedule);
        Assert.Equal(4, o.GradientAccumulation);
        Assert.Equal(0.999, o.Beta2);
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<TrainingOptions>("""{"lr": 1e-5}""", TrainingOptions.JsonOptions));
    }

    [Fact]
    public void Trajectory_hash_ignores_where_and_how_often_the_run_saves()
    {
        var a = new TrainingOptions();
        Assert.Equal(a.TrajectoryHash(), (a with { OutDir = "elsewhere", SaveEvery = 7, KeepLast = 9, PeakFlopsPerSecond = 1e15 }).TrajectoryHash());
        Assert.NotEqual(a.TrajectoryHash(), (a with { LearningRate = 3e-5 }).TrajectoryHash());
        Assert.NotEqual(a.TrajectoryHash(), (a with { Seed = 1 }).TrajectoryHash());
    }
}
