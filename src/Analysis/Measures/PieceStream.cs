using System.Collections;

namespace Sweep.Analysis.Measures;

/// <summary>
/// A measure's pieces produced one at a time for <see cref="Measure.Finish"/> or a partial file, holding no piece
/// but the current one. Why not an iterator method: a compiler-generated iterator keeps the piece it last yielded
/// (and any local that spans a <c>yield</c>) while it computes the next, so two pieces would be alive at once — for
/// <c>features</c>, two co-activation tiles, each about 2/T of a correlation's cross sums. Here the previous piece
/// is dropped before the next is produced. Enumerable once.
/// </summary>
public sealed class PieceStream : IEnumerable<IPartial>, IEnumerator<IPartial>
{
    private readonly int _count;
    private readonly Func<int, IPartial> _produce;
    private readonly Action? _completed;
    private readonly Action? _disposed;
    private int _next;
    private bool _enumerated, _disposedOnce;
    private IPartial? _current;

    /// <param name="count">Pieces to produce, 0 … count − 1.</param>
    /// <param name="produce">Folds, reads or merges piece i.</param>
    /// <param name="completed">Runs once after the last piece was taken (e.g. verifying the inputs' checksums).</param>
    /// <param name="disposed">Runs once when the enumeration ends, however it ends (e.g. closing the inputs).</param>
    public PieceStream(int count, Func<int, IPartial> produce, Action? completed = null, Action? disposed = null) =>
        (_count, _produce, _completed, _disposed) = (count, produce, completed, disposed);

    public IPartial Current => _current ?? throw new InvalidOperationException("no current piece");
    object IEnumerator.Current => Current;

    public bool MoveNext()
    {
        _current = null;
        if (_next >= _count)
        {
            if (_next++ == _count) _completed?.Invoke();
            return false;
        }
        _current = _produce(_next++);
        return true;
    }

    public IEnumerator<IPartial> GetEnumerator()
    {
        if (_enumerated) throw new InvalidOperationException("a piece stream is enumerated once");
        _enumerated = true;
        return this;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Reset() => throw new NotSupportedException();

    public void Dispose()
    {
        _current = null;
        if (_disposedOnce) return;
        _disposedOnce = true;
        _disposed?.Invoke();
    }
}

/// <summary>Pieces seen as a measure's own partial type, holding nothing itself (unlike <c>Cast</c>, whose iterator keeps the last piece).</summary>
internal sealed class TypedPieces<T>(IEnumerable<IPartial> pieces) : IEnumerable<T> where T : class, IPartial
{
    public IEnumerator<T> GetEnumerator() => new Enumerator(pieces.GetEnumerator());
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private sealed class Enumerator(IEnumerator<IPartial> inner) : IEnumerator<T>
    {
        public T Current => (T)inner.Current;
        object IEnumerator.Current => Current;
        public bool MoveNext() => inner.MoveNext();
        public void Reset() => inner.Reset();
        public void Dispose() => inner.Dispose();
    }
}
