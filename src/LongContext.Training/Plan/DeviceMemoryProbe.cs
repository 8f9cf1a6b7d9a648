using LongContext.Core.Native;
using TorchSharp;

namespace LongContext.Training.Plan;

/// <summary>
/// The device-memory readings auto checkpointing plans from: the allocator's peak since the last reset, the device's
/// total, and the reset. CUDA's caching allocator by default (<see cref="ForDevice"/>); tests pass their own.
/// </summary>
public sealed record DeviceMemoryProbe(Func<long?> PeakAllocated, Func<long?> Total, Action ResetPeak)
{
    /// <summary>The CUDA allocator of <paramref name="device"/>, or null off CUDA or without the add-on.</summary>
    public static DeviceMemoryProbe? ForDevice(torch.Device device)
    {
        if (device.type != DeviceType.CUDA || !NativeAddon.IsAvailable) return null;
        int index = CudaDevice.IndexOf(device);
        return new(() => CudaMemory.Stats(index)?.PeakAllocated, () => CudaMemory.DeviceMemory(index)?.Total, () => CudaMemory.ResetPeak(index));
    }
}
