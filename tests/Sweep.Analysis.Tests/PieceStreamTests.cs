using Sweep.Analysis.Measures;

namespace Sweep.Analysis.Tests;

/// <summary>
/// <see cref="PieceStream"/>: a measure's pieces one at a time, the previous one unreachable before the next is made
/// (two co-activation tiles of a 16k-feature SAE must not be alive at once), its end and disposal signalled once.
/// </summary>
public sealed class PieceStreamTests
{
    private sealed class Piece(int index) : IPartial
    {
        public int Index { get; } = index;
        public byte[] Payload { get; } = new byte[1 << 20];
    }

    [Fact]
    public void A_piece_stream_drops_each_piece_before_producing_the_next_and_signals_its_end_and_disposal_once()
    {
        var previous = new List<WeakReference<Piece>>();
        var aliveWhenNextProduced = new List<bool>();
        int completed = 0, disposed = 0;
        var stream = new PieceStream(4, i =>
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
            if (i > 0) aliveWhenNextProduced.Add(previous[i - 1].TryGetTarget(out _));
            var piece = new Piece(i);
            previous.Add(new WeakReference<Piece>(piece));
            return piece;
        }, completed: () => completed++, disposed: () => disposed++);

        var seen = Consume(stream);

        Assert.Equal([0, 1, 2, 3], seen);
        Assert.Equal([false, false, false], aliveWhenNextProduced);
        Assert.Equal((1, 1), (completed, disposed));
        Assert.Throws<InvalidOperationException>(() => stream.GetEnumerator());
    }

    [Fact]
    public void A_piece_stream_left_before_its_end_is_disposed_without_signalling_completion()
    {
        int completed = 0, disposed = 0;
        var stream = new PieceStream(3, i => new Piece(i), completed: () => completed++, disposed: () => disposed++);
        Assert.Equal(0, ((Piece)stream.First()).Index);
        Assert.Equal((0, 1), (completed, disposed));
    }

    /// <summary>Reads each piece's index in a method of its own, so that no local of the loop keeps a piece.</summary>
    private static List<int> Consume(PieceStream stream)
    {
        var seen = new List<int>();
        using (var e = stream.GetEnumerator())
            while (e.MoveNext()) seen.Add(IndexOf(e));
        return seen;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static int IndexOf(IEnumerator<IPartial> e) => ((Piece)e.Current).Index;
}
