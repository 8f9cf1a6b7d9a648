using System.Collections.Concurrent;
using System.Diagnostics;
using LongContext.Core.Inference;
using LongContext.Formats.Tokenization;

namespace LongContext.Server.Scheduling;

/// <summary>
/// The one place generation happens: a bounded FIFO queue in front of one dedicated engine thread (TorchSharp dispose
/// scopes and the device are used from that thread only), one request at a time, with prefix reuse of KV caches.
/// Thread-safe to submit from anywhere; cancelling a request's token stops its generation and frees the engine.
/// </summary>
public sealed class GenerationScheduler : IDisposable
{
    sealed record WorkItem(ValidatedRequest Request, GenerationHandle Handle, CancellationToken Ct, long EnqueuedTicks);

    readonly BlockingCollection<WorkItem> queue;
    readonly CancellationTokenSource shutdown = new();
    readonly Thread worker;
    readonly PrefixKvCachePool pool;
    readonly IReadOnlyCollection<int> stopTokenIds;
    readonly bool ownsSession;
    long completed, cancelled, failed, rejected, promptTokens, completionTokens, cachedTokens, hits, misses;
    long prefillTicks, decodeTicks;
    double lastTokensPerSecond;
    int active, stopped, released;

    public GenerationScheduler(EngineSession session, SchedulerOptions? options = null, bool ownsSession = false)
    {
        Session = session;
        Options = options ?? new SchedulerOptions();
        if (Options.QueueCapacity < 1) throw new ArgumentOutOfRangeException(nameof(options), "--queue must be at least 1");
        if (Options.PrefixCacheEntries < 0) throw new ArgumentOutOfRangeException(nameof(options), "--prefix-cache must be 0 or more");
        if (Options.PrefillChunk < 1) throw new ArgumentOutOfRangeException(nameof(options), "--prefill-chunk must be at least 1");
        MaxContext = Options.MaxContext ?? session.Model.Config.MaxPositionEmbeddings;
        if (MaxContext < 2) throw new ArgumentOutOfRangeException(nameof(options), "--max-context must be at least 2");
        if (Options.LargePromptTokenizations < 1) throw new ArgumentOutOfRangeException(nameof(options), "LargePromptTokenizations must be at least 1");
        var tokenizerJson = Path.Combine(session.ModelDir, "tokenizer.json");
        Prompts = new PromptEncoder(session.Tokenizer, new PromptLengthGuard(session.Tokenizer, MaxContext, File.Exists(tokenizerJson) ? tokenizerJson : null, Options));
        ModelId = Options.ModelId ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(session.ModelDir)));
        this.ownsSession = ownsSession;
        stopTokenIds = session.StopTokenIds;
        queue = new BlockingCollection<WorkItem>(new ConcurrentQueue<WorkItem>(), Options.QueueCapacity);
        pool = new PrefixKvCachePool(session.Model.Config, session.Model.Dtype, session.Model.Device, Options.PrefixCacheEntries, MaxContext, Options.KvCache);
        worker = new Thread(Loop) { IsBackground = true, Name = "longctx-engine" };
        worker.Start();
    }

    public EngineSession Session { get; }
    public HfTokenizer Tokenizer => Session.Tokenizer;
    /// <summary>Text and chat messages → prompt ids, with the guards against prompts that cannot fit.</summary>
    public PromptEncoder Prompts { get; }
    public SchedulerOptions Options { get; }
    public int MaxContext { get; }
    public string ModelId { get; }
    /// <summary>False once the engine thread has stopped (Stop, Dispose, or it died).</summary>
    public bool IsRunning => worker.IsAlive && Volatile.Read(ref stopped) == 0;

    public SchedulerStats Stats => new(queue.Count, Volatile.Read(ref active),
        Interlocked.Read(ref completed), Interlocked.Read(ref cancelled), Interlocked.Read(ref failed), Interlocked.Read(ref rejected),
        Interlocked.Read(ref promptTokens), Interlocked.Read(ref completionTokens), Interlocked.Read(ref cachedTokens),
        Interlocked.Read(ref hits), Interlocked.Read(ref misses), pool.Bytes,
        Interlocked.Read(ref prefillTicks) / (double)Stopwatch.Frequency, Interlocked.Read(ref decodeTicks) / (double)Stopwatch.Frequency,
        Volatile.Read(ref lastTokensPerSecond));

    /// <summary>
    /// Validates and queues a request; returns at once. Throws <see cref="RequestRejectedException"/> for invalid
    /// parameters, a prompt that does not fit <see cref="MaxContext"/>, or a full queue.
    /// </summary>
    public GenerationHandle Submit(GenerationRequest request, CancellationToken ct = default)
    {
        ValidatedRequest validated;
        try
        {
            validated = Validate(request);
        }
        catch (RequestRejectedException)
        {
            Interlocked.Increment(ref rejected);
            throw;
        }
        if (Volatile.Read(ref stopped) != 0) throw new RequestRejectedException(RejectionKind.ShuttingDown, "the server is shutting down");
        var handle = new GenerationHandle(validated.PromptIds.Count);
        bool added;
        try
        {
            added = queue.TryAdd(new WorkItem(validated, handle, ct, Stopwatch.GetTimestamp()));
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            throw new RequestRejectedException(RejectionKind.ShuttingDown, "the server is shutting down");
        }
        if (!added)
        {
            Interlocked.Increment(ref rejected);
            throw new RequestRejectedException(RejectionKind.QueueFull,
                $"the server is busy: {Options.QueueCapacity} requests are already waiting (--queue {Options.QueueCapacity}); retry later");
        }
        return handle;
    }

    ValidatedRequest Validate(GenerationRequest r)
    {
        int n = r.PromptIds.Count;
        if (n == 0) throw new RequestRejectedException(RejectionKind.InvalidRequest, "the prompt is empty", "prompt");
        if (n >= MaxContext)
            throw new RequestRejectedException(RejectionKind.ContextLengthExceeded,
                $"this model's maximum context length is {MaxContext} tokens (--max-context), but the prompt has {n} tokens; shorten it", "messages");
        if (r.MaxTokens is int m)
        {
            if (m < 1) throw new RequestRejectedException(RejectionKind.InvalidRequest, $"max_tokens must be at least 1 (got {m})", "max_tokens");
            if ((long)n + m > MaxContext)
                throw new RequestRejectedException(RejectionKind.ContextLengthExceeded,
                    $"this model's maximum context length is {MaxContext} tokens, but {(long)n + m} were requested ({n} in the prompt, {m} for the completion); lower max_tokens to at most {MaxContext - n} or shorten the prompt",
                    "max_tokens");
        }
        double temperature = r.Temperature ?? 1.0;
        if (!(temperature >= 0 && temperature <= 2)) throw new RequestRejectedException(RejectionKind.InvalidRequest, $"temperature must be in [0, 2] (got {temperature})", "temperature");
        double topP = r.TopP ?? 1.0;
        if (!(topP > 0 && topP <= 1)) throw new RequestRejectedException(RejectionKind.InvalidRequest, $"top_p must be in (0, 1] (got {topP})", "top_p");
        if (r.TopK is < 0) throw new RequestRejectedException(RejectionKind.InvalidRequest, $"top_k must be 0 or more (got {r.TopK})", "top_k");
        if (r.Stop.Count > 16) throw new RequestRejectedException(RejectionKind.InvalidRequest, $"at most 16 stop sequences (got {r.Stop.Count})", "stop");
        if (r.Stop.Any(string.IsNullOrEmpty)) throw new RequestRejectedException(RejectionKind.InvalidRequest, "stop sequences must not be empty", "stop");
        var vocab = Session.Model.Config.VocabSize;
        if (r.PromptIds.Any(id => id < 0 || id >= vocab))
            throw new RequestRejectedException(RejectionKind.InvalidRequest, $"prompt token ids must be in [0, {vocab})", "prompt");
        return new ValidatedRequest(r.PromptIds.ToArray(), r.MaxTokens ?? MaxContext - n,
            new SamplingOptions { Temperature = temperature, TopP = topP, TopK = r.TopK ?? 0, Seed = r.Seed }, r.Stop);
    }

    void Loop()
    {
        try
        {
            foreach (var item in queue.GetConsumingEnumerable(shutdown.Token)) Run(item);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            while (queue.TryTake(out var left))
                left.Handle.Fail(new RequestRejectedException(RejectionKind.ShuttingDown, "the server is shutting down"));
            pool.Dispose();
        }
    }

    void Run(WorkItem item)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(item.Ct, shutdown.Token);
        var ct = linked.Token;
        if (ct.IsCancellationRequested)
        {
            Interlocked.Increment(ref cancelled);
            item.Handle.Fail(Stopped(item));
            return;
        }
        Volatile.Write(ref active, 1);
        var r = item.Request;
        var prompt = r.PromptIds;
        PrefixKvCachePool.Lease? lease = null;
        var loop = new DecodeLoop(r.MaxNewTokens, stopTokenIds, r.Stop, Tokenizer);
        bool keep = false;
        long start = Stopwatch.GetTimestamp();
        // The handle is signalled last, after the counters, the cache and `active` are settled: a client that reads
        // /metrics right after its response sees its own request accounted for.
        Action signal;
        try
        {
            lease = pool.Acquire(prompt, prompt.Count + r.MaxNewTokens);
            Interlocked.Increment(ref lease.Reused > 0 ? ref hits : ref misses);
            var generator = Session.Generator;
            var sampler = new Sampler(r.Sampling);
            var rest = prompt.Skip(lease.Reused).ToArray();
            // On failure below, what the cache holds still matches prompt + produced, so keeping it stays exact.
            keep = true;
            int first = generator.Prefill(rest, lease.Cache, Options.PrefillChunk, sampler, ct);
            long prefillEnd = Stopwatch.GetTimestamp();
            // Decode steps replay CUDA graphs where the device allows (captured per request and window).
            using var graphs = r.MaxNewTokens > 1 && GraphedDecoder.GraphsAvailable(Session.Model.Device) && GraphedDecoder.IsSupported(Session.Model, out _)
                ? new GraphedDecoder(Session.Model, lease.Cache) : null;
            foreach (var piece in loop.Run(first, token => generator.DecodeStep(token, lease.Cache, sampler, graphs), ct))
                item.Handle.Write(piece.Text);
            item.Handle.Write(loop.Flush());
            long end = Stopwatch.GetTimestamp();
            var summary = new GenerationSummary(loop.Finish!.Value, loop.Produced.ToArray(), prompt.Count, lease.Reused,
                Stopwatch.GetElapsedTime(item.EnqueuedTicks, start).TotalSeconds,
                Stopwatch.GetElapsedTime(start, prefillEnd).TotalSeconds, Stopwatch.GetElapsedTime(prefillEnd, end).TotalSeconds);
            Interlocked.Add(ref promptTokens, prompt.Count);
            Interlocked.Add(ref completionTokens, summary.CompletionTokens);
            Interlocked.Add(ref cachedTokens, lease.Reused);
            Interlocked.Add(ref prefillTicks, prefillEnd - start);
            Interlocked.Add(ref decodeTicks, end - prefillEnd);
            if (summary.TokensPerSecond > 0) Volatile.Write(ref lastTokensPerSecond, summary.TokensPerSecond);
            Interlocked.Increment(ref completed);
            signal = () => item.Handle.Complete(summary);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Interlocked.Increment(ref cancelled);
            signal = () => item.Handle.Fail(Stopped(item));
        }
        catch (Exception e)
        {
            // A failure inside a forward (out of memory, a device error) may leave a layer half-written: drop the cache.
            keep = false;
            Interlocked.Increment(ref failed);
            signal = () => item.Handle.Fail(e);
        }
        finally
        {
            // The cache holds the prompt and then the produced tokens fed back, in order (its length says how many).
            if (lease is not null) pool.Release(lease, prompt.Concat(loop.Produced).ToArray(), keep);
            Volatile.Write(ref active, 0);
        }
        signal();
    }

    /// <summary>What a request stopped before its end gets: its own cancellation, or 503 when the server shuts down.</summary>
    static Exception Stopped(WorkItem item) => item.Ct.IsCancellationRequested
        ? new OperationCanceledException(item.Ct)
        : new RequestRejectedException(RejectionKind.ShuttingDown, "the server is shutting down; the request was stopped before it finished");

    /// <summary>
    /// Stops taking requests (new ones get <see cref="RejectionKind.ShuttingDown"/>), stops the running one between
    /// tokens and fails it and the queued ones with ShuttingDown, then waits for the engine thread to leave libtorch.
    /// The session stays loaded until <see cref="Dispose"/>. Idempotent.
    /// </summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref stopped, 1) == 0)
        {
            queue.CompleteAdding();
            shutdown.Cancel();
        }
        worker.Join();
    }

    /// <summary><see cref="Stop"/>, then frees the queue (and the session when owned).</summary>
    public void Dispose()
    {
        Stop();
        if (Interlocked.Exchange(ref released, 1) != 0) return;
        queue.Dispose();
        shutdown.Dispose();
        if (ownsSession) Session.Dispose();
    }
}
