using System.Runtime.InteropServices;

namespace LongContext.Cli;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM as a cancellation token for the whole run: the first signal asks the command to stop
/// cleanly (training finishes its step and saves, `serve` answers 503 and stops the engine thread before libtorch is
/// torn down) and waits for it however long that takes; a second signal terminates the process at once.
/// System.CommandLine's own handler is not used: it gives up after 2 s and returns from Main while the command is still
/// inside libtorch (a segfault), and it is not installed at all while a command's body runs synchronously.
/// </summary>
internal sealed class TerminationSignals : IDisposable
{
    readonly CancellationTokenSource cts = new();
    readonly PosixSignalRegistration[] registrations;
    int received;

    public TerminationSignals()
    {
        registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    public CancellationToken Token => cts.Token;

    void OnSignal(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref received) > 1) return;   // not cancelled: the default action ends the process
        context.Cancel = true;
        Console.Error.WriteLine($"{context.Signal}: stopping cleanly (send it again to quit at once)");
        _ = cts.CancelAsync();   // callbacks run off the signal thread, so a second signal is still seen
    }

    public void Dispose()
    {
        foreach (var r in registrations) r.Dispose();
        cts.Dispose();
    }
}
