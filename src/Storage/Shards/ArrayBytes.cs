using System.Buffers;
using System.Runtime.InteropServices;

namespace Sweep.Storage.Shards;

/// <summary>
/// A range of an <c>int[]</c> or <c>float[]</c> seen as bytes, without a copy: what an Arrow buffer of a column being
/// written holds. (Copying each column into a fresh byte array cost more than writing the file: a shard is written
/// twice over, once to digest its batches and once to the file, and fresh memory is paid for page by page.)
/// The array must not change while the buffer is in use.
/// </summary>
internal sealed class ArrayBytes<T>(T[] array, int start, int length) : MemoryManager<byte> where T : unmanaged
{
    public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(array.AsSpan(start, length));

    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        var first = (byte*)handle.AddrOfPinnedObject() + (long)start * sizeof(T);
        return new MemoryHandle(first + elementIndex, handle);
    }

    public override void Unpin() { }

    protected override void Dispose(bool disposing) { }
}
