using TorchSharp;

namespace LongContext.Core.Native;

public sealed record CudaDeviceInfo(int Index, string Name, long TotalBytes, int Major, int Minor, int Multiprocessors);

/// <summary>Device selection and properties; the add-on provides them, TorchSharp alone only counts devices.</summary>
public static class CudaDevice
{
    public static int Count()
    {
        if (NativeAddon.IsAvailable)
        {
            NativeAddon.Check(NativeAddon.lc_device_count(out int n), "device_count");
            return n;
        }
        return torch.cuda.is_available() ? torch.cuda.device_count() : 0;
    }

    /// <summary>The ordinal of a CUDA device; an unindexed "cuda" means device 0.</summary>
    public static int IndexOf(torch.Device device) => device.index < 0 ? 0 : device.index;

    /// <summary>Makes a device current for this thread (one process per GPU sets its LOCAL_RANK here).</summary>
    public static void Set(int index)
    {
        if (NativeAddon.IsAvailable) NativeAddon.Check(NativeAddon.lc_set_device(index), "set_device");
        else if (index != 0) NativeAddon.Require($"set_device({index})");
    }

    public static int Current()
    {
        if (!NativeAddon.IsAvailable) return 0;
        NativeAddon.Check(NativeAddon.lc_get_device(out int d), "get_device");
        return d;
    }

    public static void Synchronize(int index = 0)
    {
        if (NativeAddon.IsAvailable) NativeAddon.Check(NativeAddon.lc_device_synchronize(index), "synchronize");
        else torch.cuda.synchronize(torch.device(DeviceType.CUDA, index));
    }

    /// <summary>Name, memory and compute capability; null without the add-on.</summary>
    public static unsafe CudaDeviceInfo? Properties(int index)
    {
        if (!NativeAddon.IsAvailable) return null;
        var name = new byte[256];
        var numbers = new long[4];
        fixed (byte* n = name)
        fixed (long* nums = numbers)
            NativeAddon.Check(NativeAddon.lc_device_properties(index, n, name.Length, nums), "device_properties");
        int len = Array.IndexOf(name, (byte)0);
        return new CudaDeviceInfo(index, System.Text.Encoding.UTF8.GetString(name, 0, len < 0 ? name.Length : len),
            numbers[0], (int)numbers[1], (int)numbers[2], (int)numbers[3]);
    }
}
