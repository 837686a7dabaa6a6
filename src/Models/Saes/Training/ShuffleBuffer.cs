namespace Sweep.Models.Saes.Training;

/// <summary>
/// Streams rows through a fixed-size buffer in seeded random order: each output row is drawn uniformly from the
/// buffer and its slot refilled from the input, so memory holds the buffer plus one input block, never the
/// whole data set. The input is re-read from the start (a new pass) whenever it runs out.
/// </summary>
public sealed class ShuffleBuffer
{
    private readonly Func<IEnumerable<float[]>> _source;
    private readonly int _width;
    private readonly float[] _rows;
    private readonly Random _random;
    private IEnumerator<float[]>? _blocks;
    private float[] _block = [];
    private int _blockRow;
    private int _filled;

    /// <param name="source">Opens the data once per pass: row-major blocks of whole rows of <paramref name="width"/>.</param>
    public ShuffleBuffer(Func<IEnumerable<float[]>> source, int width, int capacityRows, int seed)
    {
        _source = source; _width = width; _random = new Random(seed);
        _rows = new float[(long)capacityRows * width];
        while (_filled < capacityRows && TryReadRow(_rows.AsSpan(_filled * width, width))) _filled++;
        if (_filled == 0) throw new InvalidDataException("no activations to train on");
    }

    /// <summary>Rows currently held (the capacity, or fewer when the whole data set is smaller).</summary>
    public int Count => _filled;

    /// <summary>Writes <paramref name="count"/> shuffled rows into <paramref name="target"/> (row-major).</summary>
    public void Next(Span<float> target, int count)
    {
        for (int i = 0; i < count; i++)
        {
            int slot = _random.Next(_filled);
            var row = _rows.AsSpan(slot * _width, _width);
            row.CopyTo(target.Slice(i * _width, _width));
            TryReadRow(row);
        }
    }

    /// <summary>Copies the next input row into <paramref name="target"/>, starting a new pass at the end; false only when the data set is empty.</summary>
    private bool TryReadRow(Span<float> target)
    {
        for (int attempts = 0; attempts < 2; attempts++)
        {
            while (_blockRow * _width >= _block.Length)
            {
                _blocks ??= _source().GetEnumerator();
                if (!_blocks.MoveNext()) { _blocks.Dispose(); _blocks = null; _block = []; _blockRow = 0; break; }
                _block = _blocks.Current;
                if (_block.Length % _width != 0) throw new InvalidDataException($"a block of {_block.Length} values is not whole rows of {_width}");
                _blockRow = 0;
            }
            if (_blockRow * _width < _block.Length)
            {
                _block.AsSpan(_blockRow++ * _width, _width).CopyTo(target);
                return true;
            }
        }
        return false;
    }
}
