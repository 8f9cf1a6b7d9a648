namespace LongContext.Formats.Config;

/// <summary>Sizes that follow from a <see cref="ModelConfig"/> alone: parameter counts and KV-cache bytes.</summary>
public static class ModelMath
{
    /// <summary>Width of all query heads together (num_attention_heads × head_dim).</summary>
    public static long QueryWidth(ModelConfig c) => (long)c.NumAttentionHeads * c.HeadDim;

    /// <summary>Width of all key (or value) heads together (num_key_value_heads × head_dim).</summary>
    public static long KeyValueWidth(ModelConfig c) => (long)c.NumKeyValueHeads * c.HeadDim;

    /// <summary>One vocabulary × hidden matrix (embed_tokens, or lm_head when untied).</summary>
    public static long EmbeddingParameterCount(ModelConfig c) => (long)c.VocabSize * c.HiddenSize;

    /// <summary>
    /// Parameters of one decoder layer: q/k/v/o projections (with biases when configured), gate/up/down MLP (with
    /// biases when configured) and the two RMSNorm weights.
    /// </summary>
    public static long LayerParameterCount(ModelConfig c)
    {
        long h = c.HiddenSize, q = QueryWidth(c), kv = KeyValueWidth(c), i = c.IntermediateSize;
        long attention = h * q + 2 * h * kv + q * h;
        if (c.AttentionBias) attention += q + 2 * kv;
        if (c.OutputProjBias) attention += h;
        long mlp = 3 * h * i;
        if (c.MlpBias) mlp += 2 * i + h;
        long norms = 2 * h;
        return attention + mlp + norms;
    }

    /// <summary>
    /// All parameters: embed_tokens, the decoder layers, the final norm and lm_head (counted once when
    /// tie_word_embeddings is set). Matches `sum(p.numel() for p in model.parameters())` in transformers.
    /// </summary>
    public static long ParameterCount(ModelConfig c)
    {
        long embeddings = EmbeddingParameterCount(c) * (c.TieWordEmbeddings ? 1 : 2);
        return embeddings + c.NumHiddenLayers * LayerParameterCount(c) + c.HiddenSize;
    }

    /// <summary>
    /// Parameters that take part in matrix multiplies (the N of "6·N FLOPs per token"): everything except the
    /// embedding lookup table. The lm_head matmul is included, also when it shares the embedding's weights.
    /// </summary>
    public static long MatmulParameterCount(ModelConfig c) =>
        ParameterCount(c) - (c.TieWordEmbeddings ? 0 : EmbeddingParameterCount(c));

    /// <summary>KV-cache bytes per token over all layers: 2 (K and V) × layers × kv heads × head_dim × element size.</summary>
    public static long KvCacheBytesPerToken(ModelConfig c, int bytesPerElement = 2) =>
        2L * c.NumHiddenLayers * KeyValueWidth(c) * bytesPerElement;
}
