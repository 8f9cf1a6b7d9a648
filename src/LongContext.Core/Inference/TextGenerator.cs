using System.Runtime.CompilerServices;
using LongContext.Core.Attention;
using LongContext.Core.Model;
using LongContext.Formats.Tokenization;
using static TorchSharp.torch;

namespace LongContext.Core.Inference;

/// <summary>
/// Prompt → tokens with a preallocated KV cache: chunked prefill (logits only for the last prompt position),
/// then one token per step. Streams tokens as they are produced; stops on stop ids, stop strings or the limit.
/// </summary>
public sealed class TextGenerator(LlamaForCausalLM model, IAttentionBackend backend, ITextTokenizer? tokenizer = null)
{
    public LlamaForCausalLM Model => model;

    /// <summary>
    /// Generates up to MaxNewTokens after the prompt; yields each new id (stop ids are not yielded; the id completing a
    /// stop string is). The stop and length rules are <see cref="DecodeLoop"/>'s.
    /// </summary>
    public IEnumerable<int> Generate(IReadOnlyList<int> promptIds, GenerationOptions options, CancellationToken ct = default)
    {
        if (promptIds.Count == 0) throw new ArgumentException("the prompt has no tokens");
        var loop = new DecodeLoop(options.MaxNewTokens, options.StopTokenIds, options.StopStrings, options.StopStrings.Count > 0 ? tokenizer : null);
        // A multiple of the decode bucket, so graph decode can attend over the whole cache (GraphedDecoder.WindowFor).
        int capacity = RoundUp(promptIds.Count + options.MaxNewTokens, GraphedDecoder.DefaultBucket);
        using var cache = new KvCache(model.Config, 1, capacity, model.Dtype, model.Device, options.KvCache);
        var sampler = new Sampler(options.Sampling);
        var first = Prefill(promptIds, cache, options.PrefillChunk, sampler, ct);
        using var graphs = options.MaxNewTokens > 1 && GraphedDecoder.GraphsAvailable(model.Device) && GraphedDecoder.IsSupported(model, out _)
            ? new GraphedDecoder(model, cache) : null;
        foreach (var piece in loop.Run(first, token => DecodeStep(token, cache, sampler, graphs), ct))
            yield return piece.Id;
    }

    /// <summary>Runs the prompt through the model in chunks and returns the first sampled token.</summary>
    public int Prefill(IReadOnlyList<int> promptIds, KvCache cache, int chunk, Sampler sampler, CancellationToken ct = default)
    {
        using var _ = no_grad();
        int n = promptIds.Count;
        for (int start = 0; start < n; start += chunk)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            int len = Math.Min(chunk, n - start);
            var ids = tensor(promptIds.Skip(start).Take(len).Select(i => (long)i).ToArray(), device: model.Device).unsqueeze(0);
            var hidden = model.Forward(ids, backend, cache, ropeSequenceLength: cache.Length - start + n);
            if (start + len == n)
                return sampler.Next(model.Logits(hidden[0, -1]));
        }
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>One token through the model; through <paramref name="graphs"/> (CUDA graph replay) when given.</summary>
    public int DecodeStep(int token, KvCache cache, Sampler sampler, GraphedDecoder? graphs = null)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        if (graphs is not null) return sampler.Next(graphs.Step(token));
        var ids = tensor(new long[] { token }, device: model.Device).unsqueeze(0);
        var hidden = model.Forward(ids, backend, cache);
        return sampler.Next(model.Logits(hidden[0, -1]));
    }

    /// <summary>Async stream for servers and chat UIs (generation runs on a worker thread).</summary>
    public async IAsyncEnumerable<int> GenerateAsync(IReadOnlyList<int> promptIds, GenerationOptions options,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        var channel = System.Threading.Channels.Channel.CreateUnbounded<int>();
        var worker = Task.Run(() =>
        {
            try
            {
                foreach (var id in Generate(promptIds, options, ct)) channel.Writer.TryWrite(id);
                channel.Writer.Complete();
            }
            catch (Exception e) { channel.Writer.Complete(e); }
        }, ct);
        await foreach (var id in channel.Reader.ReadAllAsync(ct).ConfigureAwait(false)) yield return id;
        await worker.ConfigureAwait(false);
    }

    static int RoundUp(int n, int multiple) => (int)Math.Min(int.MaxValue, ((long)n + multiple - 1) / multiple * multiple);
}
