using LongContext.Training.Loss;
using Xunit.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace LongContext.Tests.Training;

[CollectionDefinition(nameof(PeakMemoryCollection), DisableParallelization = true)]
public sealed class PeakMemoryCollection;

/// <summary>
/// Peak memory of the chunked loss, measured as the process's peak resident set (Linux VmHWM, reset through
/// /proc/self/clear_refs right before the measured work). Runs alone so other tests' allocations do not count.
/// Full logits here are 2048 tokens × 8192 vocab × 4 bytes = 64 MiB; a 64-token chunk is 2 MiB. The loss keeps two
/// chunk-sized buffers alive (logits and their (log-)softmax) and glibc keeps freed ones in its heap (measured
/// 15–16 MiB in all), so the bound allows twelve chunk buffers, 24 MiB, against at least 64 MiB for any version that
/// materialises the logits.
/// </summary>
[Collection(nameof(PeakMemoryCollection))]
public class ChunkedCrossEntropyMemoryTests(ITestOutputHelper output)
{
    const int Tokens = 2048, Hidden = 16, Vocab = 8192;
    const long MiB = 1 << 20;
    const int Chunk = 64;
    const long ChunkBuffer = (long)Chunk * Vocab * 4;

    static long PeakGrowth(int tokens, int vocab, int chunk)
    {
        var gen = new Generator(5);
        using var hidden = randn([2, tokens / 2, Hidden], generator: gen).requires_grad_(true);
        using var weight = randn([vocab, Hidden], generator: gen).requires_grad_(true);
        using var labels = randint(0, vocab, [2, tokens / 2], generator: gen, dtype: ScalarType.Int64);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        File.WriteAllText("/proc/self/clear_refs", "5");   // VmHWM := current RSS
        long start = ReadStatusKb("VmRSS");
        using (var scope = NewDisposeScope())
        {
            var loss = ChunkedCrossEntropy.Sum(hidden, weight, labels, chunk);
            loss.backward();
        }
        long peak = ReadStatusKb("VmHWM");
        return (peak - start) * 1024;
    }

    static long ReadStatusKb(string key)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(key + ":", StringComparison.Ordinal));
        return long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0]);
    }

    [Fact]
    public void Peak_memory_is_bounded_by_the_chunk_not_by_the_full_logits()
    {
        if (!OperatingSystem.IsLinux()) return;   // VmHWM and clear_refs are Linux-only
        var sw = System.Diagnostics.Stopwatch.StartNew();
        PeakGrowth(Tokens, 512, Chunk);   // warm-up, small vocabulary: pages in kernels, worker threads and their arenas
        output.WriteLine($"warm-up {sw.ElapsedMilliseconds} ms");
        long chunked = PeakGrowth(Tokens, Vocab, Chunk);
        // The same measurement with one chunk holding every token shows what materialising the logits costs.
        long whole = PeakGrowth(Tokens, Vocab, Tokens);
        output.WriteLine($"peak growth: chunked {chunked / MiB} MiB, whole {whole / MiB} MiB");
        Assert.True(chunked < 12 * ChunkBuffer, $"chunked loss grew the peak RSS by {chunked / MiB} MiB (full logits are 64 MiB; one chunk of all tokens: {whole / MiB} MiB)");
        Assert.True(whole > 64 * MiB, $"the measurement is blind: one chunk of all tokens grew the peak by only {whole / MiB} MiB");
    }
}
