using LongContext.Core.Runtime;

namespace LongContext.Tests.Build;

public class CudaAllocatorDefaultsTests
{
    [Fact]
    public void Expandable_segments_are_the_default_only_when_the_user_set_nothing()
    {
        Assert.Equal("expandable_segments:True", CudaAllocatorDefaults.Choose(null, null));
        Assert.Equal("expandable_segments:True", CudaAllocatorDefaults.Choose("", null));
        Assert.Null(CudaAllocatorDefaults.Choose("expandable_segments:False", null));
        Assert.Null(CudaAllocatorDefaults.Choose(null, "max_split_size_mb:512"));
    }

    [Fact]
    public void Initialised_runtime_leaves_allocator_settings_in_the_native_environment()
    {
        if (!OperatingSystem.IsLinux()) return;
        TorchRuntime.Initialize(wantCuda: false);
        // libtorch reads the native environment; either the default or whatever the user had set must be there.
        var user = Environment.GetEnvironmentVariable(CudaAllocatorDefaults.Variable) ?? Environment.GetEnvironmentVariable("PYTORCH_ALLOC_CONF");
        Assert.Equal(string.IsNullOrEmpty(user) ? CudaAllocatorDefaults.DefaultValue : user, CudaAllocatorDefaults.Current());
    }
}
