using LongContext.Core.Attention;
using LongContext.Core.Autograd;
using LongContext.Training.Loop;
using LongContext.Training.Loss;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Training;

/// <summary>
/// Tensors a training step leaves alive. On CUDA libtorch runs custom backwards on its own thread, outside every
/// dispose scope, so anything they do not release waits for the GC, which GPU memory never triggers (an H200 ran out
/// of memory after 27 steps of a 27M-parameter model).
/// </summary>
public class AutogradMemoryTests
{
    static long Live => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    [Theory]
    [InlineData(null)]   // every layer recomputed
    [InlineData(0)]      // no layer recomputed
    public void A_training_step_leaves_no_tensors_alive(int? recomputed)
    {
        using var dir = new TempDir();
        using var model = TrainingTestKit.NewModel();
        var loss = new LongSequenceLoss(chunkTokens: 32, recomputedLayers: recomputed);
        using var trainer = new Trainer(model, new SyntheticDataSource(2, 64), new FusedAttentionBackend(), TrainingTestKit.Options(dir.Path, 10), loss);
        trainer.TrainStep();   // optimizer state is created in the first step
        long before = Live;
        for (int i = 0; i < 3; i++) trainer.TrainStep();
        Assert.Equal(before, Live);
    }

    [Fact]
    public void Custom_backwards_release_what_they_create_when_no_dispose_scope_surrounds_them()
    {
        // A fresh thread with no dispose scope stands in for libtorch's CUDA device thread.
        long left = -1;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                long start = Live;
                var q = randn(1, 4, 16, 8).requires_grad_();
                var k = randn(1, 2, 16, 8).requires_grad_();
                var v = randn(1, 2, 16, 8).requires_grad_();
                var output = AttentionFunction.Apply(q, k, v, causal: true);
                var sum = output.sum();
                sum.backward();
                CustomAutograd.ReleaseReturned();
                foreach (var t in new[] { q, k, v })
                {
                    using var g = t.grad;
                    Assert.NotNull(g);
                }
                foreach (var t in new[] { sum, output, q, k, v }) t.Dispose();
                left = Live - start;
            }
            catch (Exception e) { failure = e; }
        });
        thread.Start();
        thread.Join();
        Assert.Null(failure);
        Assert.Equal(0, left);
    }
}
