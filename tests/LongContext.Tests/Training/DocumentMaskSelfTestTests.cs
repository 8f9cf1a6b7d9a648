using LongContext.Core.Diagnostics;
using LongContext.Training.Diagnostics;
using static TorchSharp.torch;

namespace LongContext.Tests.Training;

/// <summary>The document-mask checks `longctx selftest` runs on CUDA, run here on the CPU (math fallback, fp32).</summary>
public class DocumentMaskSelfTestTests
{
    [Fact]
    public void The_selftest_document_mask_checks_pass_on_the_cpu()
    {
        var checks = SelfTest.DocumentAttentionChecks(CPU).Concat(TrainingSelfTest.DocumentMaskChecks(CPU)).ToList();
        Assert.Equal(["attention.documents.forward[fp32]", "attention.documents.lse[fp32]", "attention.documents.backward[fp32]",
            "training.document-mask.loss[packed vs separate]", "training.document-mask.gradients[packed vs separate]"], checks.Select(c => c.Name));
        Assert.All(checks, c => Assert.True(c.Passed, $"{c.Name}: error {c.Error} > {c.Tolerance}"));
    }
}
