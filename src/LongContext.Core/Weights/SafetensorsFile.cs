using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using TorchSharp;
using static TorchSharp.torch;
using LongContext.Formats.Safetensors;

namespace LongContext.Core.Weights;

/// <summary>
/// One safetensors file, memory-mapped read-only. Opening parses and validates the header (see
/// <see cref="SafetensorsHeader"/>); tensor bytes are only touched when read, one tensor at a time, so host memory
/// stays near one tensor's size whatever the file's. Malformed files throw <see cref="CheckpointException"/>.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>Bytes copied per step when moving data between the map and a tensor (a Span holds &lt; 2 GiB).</summary>
    internal const int ChunkBytes = 1 << 28;

    private readonly Dictionary<string, SafetensorsTensorInfo> _tensors;
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private byte* _base;
    private readonly long _dataOffset;

    private SafetensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* basePointer,
        long dataOffset, Dictionary<string, SafetensorsTensorInfo> tensors, List<string> names, Dictionary<string, string> metadata)
    {
        Path = path;
        _map = map;
        _view = view;
        _base = basePointer;
        _dataOffset = dataOffset;
        _tensors = tensors;
        Names = names;
        Metadata = metadata;
    }

    public string Path { get; }

    /// <summary>Tensor names in file order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The header's `__metadata__` (e.g. {"format": "pt"}).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static SafetensorsFile Open(string path)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("safetensors data is little-endian; this machine is not.");
        }
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CheckpointException($"{path}: file not found.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{path}: cannot open ({e.Message}).");
        }

        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        byte* pointer = null;
        try
        {
            var length = stream.Length;
            if (length < 8)
            {
                throw SafetensorsHeader.Corrupt(path, $"it has {length} bytes, fewer than the 8-byte header length");
            }
            Span<byte> prefix = stackalloc byte[8];
            stream.ReadExactly(prefix);
            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > SafetensorsHeader.MaxHeaderBytes)
            {
                throw SafetensorsHeader.Corrupt(path, $"its header length {headerLength} exceeds the {SafetensorsHeader.MaxHeaderBytes}-byte limit");
            }
            if ((long)headerLength > length - 8)
            {
                throw SafetensorsHeader.Corrupt(path, $"its header length {headerLength} runs past the end of the {length}-byte file");
            }
            var header = new byte[headerLength];
            stream.ReadExactly(header);
            var dataOffset = 8 + (long)headerLength;
            var (tensors, order, metadata) = SafetensorsHeader.Parse(header, length - dataOffset, path);

            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            pointer += view.PointerOffset;
            return new SafetensorsFile(path, map, view, pointer, dataOffset, tensors, order, metadata);
        }
        catch
        {
            if (pointer != null)
            {
                view!.SafeMemoryMappedViewHandle.ReleasePointer();
            }
            view?.Dispose();
            map?.Dispose();
            stream.Dispose();
            throw;
        }
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public SafetensorsTensorInfo GetInfo(string name) =>
        _tensors.TryGetValue(name, out var info)
            ? info
            : throw new CheckpointException($"{Path}: has no tensor '{name}'.");

    /// <summary>Pointer to the first byte of the tensor's data; valid until this file is disposed.</summary>
    public IntPtr GetDataPointer(string name) => (IntPtr)DataPointer(GetInfo(name));

    /// <summary>The tensor's raw little-endian bytes; valid until this file is disposed. Tensors of 2 GiB or more:
    /// use <see cref="GetDataPointer"/> with <see cref="SafetensorsTensorInfo.ByteLength"/>.</summary>
    public ReadOnlySpan<byte> GetBytes(string name)
    {
        var info = GetInfo(name);
        if (info.ByteLength > int.MaxValue)
        {
            throw new InvalidOperationException($"Tensor '{name}' has {info.ByteLength} bytes, too many for a span; use GetDataPointer.");
        }
        return new ReadOnlySpan<byte>(DataPointer(info), (int)info.ByteLength);
    }

    /// <summary>
    /// Creates one tensor from the mapped bytes: a CPU tensor of the file's dtype, then converted to
    /// <paramref name="dtype"/> and moved to <paramref name="device"/> when given. FP8 (which TorchSharp lacks) is
    /// decoded to float32 unless <paramref name="dtype"/> says otherwise.
    /// </summary>
    public Tensor LoadTensor(string name, ScalarType? dtype = null, Device? device = null)
    {
        var info = GetInfo(name);
        var source = DataPointer(info);
        Tensor host;
        if (info.Dtype.ToScalarType() is { } fileType)
        {
            host = torch.empty(info.ShapeArray(), fileType, CPU);
            CopyToTensor(source, info.ByteLength, host);
        }
        else
        {
            host = torch.empty(info.ShapeArray(), ScalarType.Float32, CPU);
            Float8.DecodeInto(source, info.ElementCount, info.Dtype, host);
        }
        var targetType = dtype ?? host.dtype;
        var targetDevice = device ?? CPU;
        if (targetType == host.dtype && targetDevice.type == DeviceType.CPU)
        {
            return host;
        }
        using (host)
        {
            return host.to(targetType, targetDevice);
        }
    }

    internal byte* DataPointer(SafetensorsTensorInfo info)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        return _base + _dataOffset + info.DataStart;
    }

    /// <summary>Copies <paramref name="length"/> bytes into a contiguous CPU tensor of that byte size.</summary>
    internal static void CopyToTensor(byte* source, long length, Tensor target, int chunkBytes = ChunkBytes)
    {
        if (length == 0)
        {
            return;
        }
        using var flat = target.view(-1);
        var itemSize = (int)target.ElementSize;
        var chunkElements = Math.Max(1, chunkBytes / itemSize);
        var elements = length / itemSize;
        for (long start = 0; start < elements; start += chunkElements)
        {
            var count = Math.Min(chunkElements, elements - start);
            using var slice = flat.narrow(0, start, count);
            new ReadOnlySpan<byte>(source + start * itemSize, (int)(count * itemSize)).CopyTo(slice.bytes);
        }
    }

    /// <summary><see cref="CopyToTensor(byte*, long, Tensor, int)"/> for callers without unsafe code (tests).</summary>
    internal static void CopyToTensor(IntPtr source, long length, Tensor target, int chunkBytes) =>
        CopyToTensor((byte*)source, length, target, chunkBytes);

    public void Dispose()
    {
        if (_base != null)
        {
            _base = null;
            _view!.SafeMemoryMappedViewHandle.ReleasePointer();
        }
        _view?.Dispose();
        _view = null;
        _map?.Dispose();
        _map = null;
    }
}
