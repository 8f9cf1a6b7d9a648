using LongContext.Formats.Config;
using LongContext.Training.Plan;

namespace LongContext.Tests.Plan;

public class FlopModelTests
{
    [Fact]
    public void Llama_3_8b_at_1M_costs_6N_plus_6_layers_h_L_per_token()
    {
        var c = ModelPresets.Get("llama-3-8b");
        double dense = 6.0 * (8_030_261_248L - 525_336_576L);       // embedding table excluded, lm_head kept
        double attention = 6.0 * 32 * 4096 * 1_048_576;            // causal: half of Megatron's 12·L·h·s
        Assert.Equal(dense + attention, FlopModel.TrainingFlopsPerToken(c, 1L << 20));
        Assert.Equal(869_663_268_864d, FlopModel.TrainingFlopsPerToken(c, 1L << 20));
    }

    [Fact]
    public void Attention_share_matches_the_reference_at_8K_and_1M()
    {
        // long-context-recipes.md §6.2 gives ~11.8% at 8K and ~94.5% at 1M (computed there with N = 8.03e9).
        var c = ModelPresets.Get("llama-3-8b");
        double Share(long l) => FlopModel.AttentionFlopsPerToken(c, l) / FlopModel.TrainingFlopsPerToken(c, l);
        Assert.InRange(Share(8192), 0.115, 0.13);
        Assert.InRange(Share(1L << 20), 0.945, 0.95);
    }
}
