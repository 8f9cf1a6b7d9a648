using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Training.Data;
using LongContext.Training.Quickstart;
using TorchSharp;
using static TorchSharp.torch;
using LongContext.Training.Loop;
using LongContext.Training.Loss;

namespace LongContext.Tests.Quickstart;

/// <summary>The quickstart driven through the project's Trainer.TrainStep.</summary>
public class ProjectTrainerTests
{
    private static readonly QuickstartOptions O = QuickstartOptions.Fast;
    private static readonly RecallVocabulary Vocab = new() { KeyCount = O.KeyCount, ValueCount = O.ValueCount };

    [Fact]
    public void Answer_loss_sum_and_accuracy_match_a_direct_computation_over_the_answer_positions()
    {
        using var model = ModelLoader.CreateRandom(QuickstartRunner.ModelConfigFor(O, Vocab), CPU, ScalarType.Float32, seed: 4, std: 0.2);
        var host = new RecallCorpus(Vocab, 32, 4, seed: 3).Next();
        var backend = new SdpaAttentionBackend();
        var batch = DeviceBatch.Upload(host, CPU, backend);
        var (sum, accuracy) = ProjectQuickstartTrainer.AnswerLossSum(model, batch);
        // Reference: logits of every position, then the answer positions picked on the host.
        var logits = model.Logits(model.Forward(batch.InputIds, backend)).reshape(-1, Vocab.Size);
        var answers = Enumerable.Range(0, host.Labels.Length).Where(i => host.Labels[i] != TrainingBatch.IgnoreIndex).ToArray();
        double nll = 0, right = 0;
        var logProbs = logits.log_softmax(-1);
        foreach (var i in answers)
        {
            nll -= logProbs[i, host.Labels[i]].item<float>();
            if (logits[i].argmax().item<long>() == host.Labels[i]) right++;
        }
        Assert.Equal(nll / answers.Length, sum.item<float>() / host.PredictedTokens, 4);
        Assert.Equal(right / answers.Length, accuracy, 6);
        // The trainer's own full-vocabulary cross-entropy gives the same sum.
        Assert.Equal(new CrossEntropyLoss().LossSum(model, batch).item<float>(), sum.item<float>(), 2);
    }

    [Fact]
    public void Trainer_steps_lower_the_recall_loss_and_leave_no_files_behind()
    {
        using var model = ModelLoader.CreateRandom(QuickstartRunner.ModelConfigFor(O, Vocab), CPU, ScalarType.Float32, seed: 2);
        var before = Directory.GetDirectories(Path.GetTempPath(), "longctx-quickstart-trainer-*").Length;
        var steps = new List<QuickstartStepProgress>();
        var run = new ProjectQuickstartTrainer().Train(model, new RecallCorpus(Vocab, 32, 8, seed: 1),
            new TrainingSchedule { MaxSteps = 40, PeakLearningRate = 3e-3, WarmupSteps = 5 }, new Inline(steps.Add), CancellationToken.None);
        Assert.Equal(40, run.Steps);
        Assert.Equal(Enumerable.Range(1, 40), steps.Select(s => s.Step));
        Assert.Equal(3e-3 / 5, steps[0].LearningRate, 9);
        Assert.InRange(run.FinalAccuracy, 0, 1);
        Assert.True(run.Losses.Take(5).Average() > run.Losses.TakeLast(5).Average() + 0.2, string.Join(", ", run.Losses));
        Assert.Equal(before, Directory.GetDirectories(Path.GetTempPath(), "longctx-quickstart-trainer-*").Length);
    }

    private sealed class Inline(Action<QuickstartStepProgress> a) : IProgress<QuickstartStepProgress>
    {
        public void Report(QuickstartStepProgress value) => a(value);
    }
}
