using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Sweep.Analysis.Measures;

namespace Sweep.Pipeline.Results;

/// <summary>What a partial file says about itself (its header, JSON), so it can be read and checked anywhere.</summary>
/// <param name="Unit">Key of the unit that wrote it.</param>
/// <param name="Sites">The target's sites, <c>model/site</c> (one for a one-site measure).</param>
/// <param name="Widths">The sites' widths.</param>
/// <param name="Data"><c>dense</c> or <c>sparse</c>.</param>
/// <param name="Shards">First and last corpus shard the statistics cover.</param>
/// <param name="Parameters">The measure's canonical parameters ("key=value,...").</param>
/// <param name="Pieces">Number of pieces that follow the header.</param>
public sealed record PartialHeader(string Unit, long Run, string Analysis, string Kind, IReadOnlyList<string> Sites, IReadOnlyList<int> Widths,
    string Data, IReadOnlyList<int> Shards, string Parameters, int Pieces);

/// <summary>
/// A measure's partial statistics as a self-describing, checksummed file in the store (docs/partials.md):
/// <code>
/// "SWPARTIA"      8 bytes
/// u32             format version (1)
/// i32 + bytes     header: UTF-8 JSON (<see cref="PartialHeader"/>)
/// per piece:      i32 piece index, then the measure's sections (<see cref="PartialWriter"/>)
/// u8 'E'          end
/// 32 bytes        SHA-256 of every byte before it: the file's checksum (recorded in the ledger as the unit's checksum)
/// </code>
/// Written under a temporary name and renamed into place, like shards; read only with its checksum verified, which
/// <see cref="Reader.Finish"/> does after the last piece (so nothing read is used before the whole file has checked out).
/// </summary>
public static class PartialFile
{
    private static readonly byte[] Magic = "SWPARTIA"u8.ToArray();
    private const uint Version = 1;
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>
    /// Writes the pieces <paramref name="pieces"/> yields (in order, each written before the next is made) and returns
    /// the file's checksum. Nothing is at <paramref name="path"/> unless the whole file was written.
    /// </summary>
    /// <summary>A method of its own so that no local of the writing loop holds a piece while the next is produced (see <see cref="PieceStream"/>).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void WriteCurrent(Measure measure, IEnumerator<IPartial> pieces, PartialWriter sections)
    {
        measure.Write(pieces.Current, sections);
        sections.Flush();
    }

    public static string Write(string path, PartialHeader header, Measure measure, IEnumerable<IPartial> pieces)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            byte[] digest;
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                using (var hashing = new HashingStream(file))
                {
                    using (var w = new BinaryWriter(hashing, Encoding.UTF8, leaveOpen: true))
                    {
                        w.Write(Magic);
                        w.Write(Version);
                        var json = JsonSerializer.SerializeToUtf8Bytes(header, Json);
                        w.Write(json.Length);
                        w.Write(json);
                        int index = 0;
                        var sections = new PartialWriter(hashing);
                        using (var e = pieces.GetEnumerator())
                            while (e.MoveNext())
                            {
                                w.Write(index++);
                                w.Flush();
                                WriteCurrent(measure, e, sections);
                            }
                        if (index != header.Pieces) throw new InvalidOperationException($"{path}: {index} pieces written, the header says {header.Pieces}");
                        w.Write((byte)'E');
                    }
                    digest = hashing.Digest();
                }
                file.Write(digest);
            }
            File.Move(temp, path, overwrite: true);
            return Convert.ToHexStringLower(digest);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Whether the file at <paramref name="path"/> is whole and, when given, has checksum <paramref name="checksum"/> and was written by <paramref name="unit"/>.</summary>
    public static bool Verifies(string path, string? checksum = null, string? unit = null) => Problem(path, checksum, unit) is null;

    /// <summary>What keeps the file at <paramref name="path"/> from verifying (see <see cref="Verifies"/>), as one line naming it, or null.</summary>
    public static string? Problem(string path, string? checksum = null, string? unit = null)
    {
        if (!File.Exists(path)) return $"{path}: missing";
        try
        {
            using var reader = Open(path);
            if (unit is not null && reader.Header.Unit != unit) return $"{path}: written by unit {reader.Header.Unit}, expected {unit}";
            var actual = reader.VerifyRest();
            return checksum is null || actual == checksum ? null : $"{path}: checksum {actual[..12]}, the ledger records {checksum[..Math.Min(12, checksum.Length)]}";
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or JsonException)
        {
            return e.Message.StartsWith(path, StringComparison.Ordinal) ? e.Message : $"{path}: {e.Message}";
        }
    }

    public static Reader Open(string path) => new(path);

    /// <summary>Reads a partial file piece by piece; <see cref="Finish"/> checks the end and the checksum and returns it.</summary>
    public sealed class Reader : IDisposable
    {
        private readonly FileStream _file;
        private readonly HashingReadStream _hashing;
        private readonly BinaryReader _reader;
        private readonly string _path;
        private int _next;

        public PartialHeader Header { get; }

        internal Reader(string path)
        {
            _path = path;
            _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            if (_file.Length < Magic.Length + 4 + 4 + 1 + 32) throw new InvalidDataException($"{path}: not a Sweep partial file (too short)");
            _hashing = new HashingReadStream(_file, _file.Length - 32);
            _reader = new BinaryReader(_hashing, Encoding.UTF8, leaveOpen: true);
            if (!_reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic)) throw new InvalidDataException($"{path}: not a Sweep partial file");
            if (_reader.ReadUInt32() is var version && version != Version) throw new InvalidDataException($"{path}: partial file version {version}, this Sweep reads {Version}");
            int length = _reader.ReadInt32();
            if (length < 2 || length > 1 << 20) throw new InvalidDataException($"{path}: partial file header of {length} bytes");
            Header = JsonSerializer.Deserialize<PartialHeader>(_reader.ReadBytes(length), Json) ?? throw new InvalidDataException($"{path}: empty partial header");
        }

        /// <summary>The next piece, which must be piece <paramref name="piece"/>.</summary>
        public IPartial Read(Measure measure, MeasureParameters parameters, MeasureShape shape, int piece)
        {
            int index = _reader.ReadInt32();
            if (index != piece || index != _next) throw new InvalidDataException($"{_path}: holds piece {index} where piece {piece} belongs");
            _next++;
            return measure.Read(parameters, shape, piece, new PartialReader(_hashing));
        }

        /// <summary>Checks that every piece was read, the end marker, and the checksum; returns the checksum.</summary>
        public string Finish()
        {
            if (_next != Header.Pieces) throw new InvalidDataException($"{_path}: {_next} of {Header.Pieces} pieces read");
            return VerifyRest();
        }

        internal string VerifyRest()
        {
            // Skip what was not read (Verifies reads no piece): everything up to the end marker is hashed on the way.
            var buffer = new byte[1 << 16];
            while (_hashing.Remaining > 1) _hashing.ReadExactly(buffer, 0, (int)Math.Min(buffer.Length, _hashing.Remaining - 1));
            if (_hashing.ReadByte() != 'E') throw new InvalidDataException($"{_path}: partial file does not end where its pieces do");
            var digest = _hashing.Digest();
            var trailer = new byte[32];
            _file.ReadExactly(trailer);
            if (!digest.AsSpan().SequenceEqual(trailer)) throw new InvalidDataException($"{_path}: partial file damaged (its bytes do not hash to the SHA-256 it ends with)");
            return Convert.ToHexStringLower(digest);
        }

        public void Dispose()
        {
            _reader.Dispose();
            _hashing.Dispose();
            _file.Dispose();
        }
    }

    /// <summary>Reads at most <paramref name="length"/> bytes of a stream and hashes (SHA-256) everything read.</summary>
    private sealed class HashingReadStream(Stream inner, long length) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _read;

        public long Remaining => length - _read;
        public byte[] Digest() => _hash.GetHashAndReset();

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (buffer.Length > Remaining) buffer = buffer[..(int)Remaining];
            if (buffer.Length == 0) return 0;
            int n = inner.Read(buffer);
            _hash.AppendData(buffer[..n]);
            _read += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _read; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _hash.Dispose();
            base.Dispose(disposing);
        }
    }
}
