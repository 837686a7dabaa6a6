using Sweep.Analysis.Measures;
using Sweep.Pipeline.Results;

namespace Sweep.Pipeline.Tests;

/// <summary>Partial files: self-describing, checksummed, written atomically, read piece by piece, refused when damaged.</summary>
public sealed class PartialFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sweep-partials-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly DenseCorrelationMeasure Measure = new();
    // 1 MiB of tiles for 20,000 A features: 2 columns per tile, so 3 pieces for 5 B features.
    private static readonly CorrelationParameters Parameters = new() { MemoryMb = 1 };
    private static readonly MeasureShape Shape = new(20_000, 5, SiteData.Dense);

    private static List<MeasureBlock> Blocks()
    {
        var rng = new Random(1);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
        return [new MeasureBlock(new TokenRows(new int[20], Enumerable.Range(0, 20).ToArray(), new int[20]),
            SiteRows.OfDense(Shape.WidthA, Values(20 * Shape.WidthA)), SiteRows.OfDense(5, Values(20 * 5)))];
    }

    private static PartialHeader Header(string unit = "unit-1") =>
        new(unit, 7, "corr", "correlation", ["a/x", "b/y"], [Shape.WidthA, 5], "dense", [0, 3], "top_k=1", 3);

    private string WriteFile(string name = "p.partial")
    {
        var blocks = Blocks();
        return PartialFile.Write(Path.Combine(_dir, name), Header(), Measure,
            Enumerable.Range(0, 3).Select(piece => Measure.Fold(Parameters, Shape, piece, () => blocks)));
    }

    [Fact]
    public void A_partial_file_gives_back_its_header_and_pieces_and_its_checksum()
    {
        var checksum = WriteFile();
        var path = Path.Combine(_dir, "p.partial");
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));

        using var reader = PartialFile.Open(path);
        var written = Header();
        Assert.Equal(written, reader.Header with { Sites = written.Sites, Widths = written.Widths, Shards = written.Shards });
        Assert.Equal(written.Sites, reader.Header.Sites);
        Assert.Equal(written.Widths, reader.Header.Widths);
        Assert.Equal(written.Shards, reader.Header.Shards);
        var pieces = Enumerable.Range(0, 3).Select(i => (CorrelationTilePartial)reader.Read(Measure, Parameters, Shape, i)).ToList();
        Assert.Equal(checksum, reader.Finish());
        Assert.Equal([(0, 2), (2, 2), (4, 1)], pieces.Select(p => (p.Tile.First, p.Tile.Width)));
        Assert.True(PartialFile.Verifies(path, checksum, "unit-1"));
        Assert.False(PartialFile.Verifies(path, checksum, "unit-2"));
        Assert.False(PartialFile.Verifies(path, new string('0', 64)));
    }

    [Fact]
    public void A_damaged_or_truncated_partial_file_is_refused()
    {
        var checksum = WriteFile();
        var path = Path.Combine(_dir, "p.partial");
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(path, bytes);

        Assert.False(PartialFile.Verifies(path, checksum));
        using (var reader = PartialFile.Open(path))
        {
            // The damage sits inside a float64 of the co-moment: the pieces read, the checksum does not match.
            for (int i = 0; i < 3; i++) reader.Read(Measure, Parameters, Shape, i);
            Assert.Contains("damaged", Assert.Throws<InvalidDataException>(() => reader.Finish()).Message);
        }
        File.WriteAllBytes(path, bytes[..(bytes.Length / 3)]);
        Assert.False(PartialFile.Verifies(path));
    }

    [Fact]
    public void A_piece_that_fails_to_fold_leaves_no_file_behind()
    {
        var path = Path.Combine(_dir, "broken.partial");
        IEnumerable<IPartial> Pieces()
        {
            yield return Measure.Fold(Parameters, Shape, 0, Blocks);
            throw new IOException("shard vanished");
        }
        Assert.Throws<IOException>(() => PartialFile.Write(path, Header(), Measure, Pieces()));
        Assert.Empty(Directory.GetFiles(_dir));
    }
}
