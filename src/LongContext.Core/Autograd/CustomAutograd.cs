using static TorchSharp.torch;

namespace LongContext.Core.Autograd;

/// <summary>
/// Memory hygiene for TorchSharp custom autograd functions (<c>autograd.SingleTensorFunction&lt;T&gt;</c>). Two things
/// otherwise keep GPU memory alive that nothing on the .NET side accounts for:
/// <list type="bullet">
/// <item>For CUDA tensors libtorch runs backward functions on its own device thread, where none of the caller's
/// dispose scopes exist (scopes are per thread). Every tensor a backward creates there — the incoming gradient's
/// wrapper, the saved tensors it unpacks, its intermediates and the gradients it returns — then lives until the .NET
/// GC finalizes its wrapper, which GPU memory pressure never triggers: a 27M-parameter model leaked ~4.7 GiB per
/// step at 131K tokens and ran out of memory on an H200. <see cref="Backward"/> gives the body a scope and releases
/// what it returned once libtorch has copied it.</item>
/// <item><c>apply</c> keeps an <c>empty_like</c> of every output for the node (to materialise an undefined incoming
/// gradient as zeros), registered on the caller's current scope: called inside a whole-model forward, each layer's
/// copy would live until the model's forward returns (16 × 4 GiB for the 1B shape at 1M tokens). <see cref="Apply"/>
/// runs <c>apply</c> in a scope of its own, so that copy goes at once. Our functions' outputs always receive a defined
/// gradient, so the copy is never read.</item>
/// </list>
/// </summary>
public static class CustomAutograd
{
    // Gradients a backward on this thread handed to libtorch. libtorch copies them (a new reference to the same
    // storage) as soon as the callback returns, so the wrappers can go at the next backward on this thread or when the
    // thread that called backward() says it has returned (ReleaseReturned).
    [ThreadStatic] static List<Tensor>? returned;

    /// <summary>Runs a custom function's <c>apply</c>; only its output outlives the call.</summary>
    public static Tensor Apply(Func<Tensor> apply)
    {
        using var scope = NewDisposeScope();
        return apply().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs a custom function's backward body in a dispose scope: intermediates and unpacked saved tensors go when it
    /// ends, the incoming gradient is disposed unless returned, and the returned gradients are released after libtorch
    /// took its own reference to them.
    /// </summary>
    public static List<Tensor> Backward(Tensor gradOutput, Func<List<Tensor>> body)
    {
        ReleaseReturned();
        List<Tensor> result;
        using (var scope = NewDisposeScope())
        {
            result = body();
            foreach (var t in result) t?.DetachFromDisposeScope();
        }
        var handedOver = returned ??= [];
        foreach (var t in result)
            if (t is not null) handedOver.Add(t);
        if (!result.Any(t => ReferenceEquals(t, gradOutput))) gradOutput.Dispose();
        return result;
    }

    /// <summary>
    /// Releases the gradients this thread's backward bodies handed to libtorch. Call it on the thread that called
    /// backward(), after it returned (on CPU the engine runs backward bodies on that thread); a CUDA device thread
    /// releases its own at its next backward.
    /// </summary>
    public static void ReleaseReturned()
    {
        if (returned is not { Count: > 0 } list) return;
        foreach (var t in list) t.Dispose();
        list.Clear();
    }
}
