using Sweep.Analysis.Measures;
using Sweep.Models.Tokenizers;
using Sweep.Pipeline.Integrity;
using Sweep.Pipeline.Results;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
using Sweep.Storage.Database;

namespace Sweep.Pipeline.Execution;

/// <summary>
/// Runs the analysis units of a target with its measure. A map unit folds its range of corpus shards into a partial
/// file, piece by piece; a merge unit merges two partial files piece by piece into a third; a finalize unit merges its
/// inputs (or folds the whole corpus, when it is one range) and turns the result into rows. A partial file that is
/// already in place and verifies (a retried or resumed unit) is reused. Every partial read is verified against its
/// checksum before anything made from it is published.
/// </summary>
public sealed class AnalysisExecutor(SaeRun saes)
{
    private readonly SiteReader _reader = new(saes);
    private RunContext Run => saes.Run;

    public UnitResult Execute(AnalysisUnitWork unit, CancellationToken ct) => unit switch
    {
        AnalysisMapWork map => Partial(map, map.Range, () => Fold(map.Target, map.Range, ct)),
        AnalysisMergeWork merge => Partial(merge, merge.Covers, () => Merged(merge.Target, merge.Inputs, ct)),
        AnalysisFinalizeWork finalize => Finalize(finalize, ct),
        _ => throw new ArgumentOutOfRangeException(nameof(unit), unit.GetType().Name, "no executor for this kind of analysis unit"),
    };

    private UnitResult Partial(AnalysisUnitWork unit, ShardRange covers, Func<IEnumerable<IPartial>> pieces)
    {
        var target = unit.Target;
        var path = Run.PartialPath(target.Analysis.Name, unit.Key);
        if (Reusable(path, unit.Key) is { } kept) return new UnitResult(new UnitOutput(OutputUri: path, Checksum: kept), Reused: true);
        var header = new PartialHeader(unit.Key, Run.RunId, target.Analysis.Name, target.Analysis.Kind,
            target.B is null ? [target.A.ToString()] : [target.A.ToString(), target.B.ToString()],
            target.Shape.WidthB is { } wb ? [target.Shape.WidthA, wb] : [target.Shape.WidthA],
            target.Shape.Data.ToString().ToLowerInvariant(), [covers.First, covers.Last],
            string.Join(",", target.Measure.Canonical(target.Parameters).Select(p => $"{p.Key}={p.Value}")),
            target.Measure.Pieces(target.Parameters, target.Shape));
        var checksum = PartialFile.Write(path, header, target.Measure, pieces());
        return new UnitResult(new UnitOutput(OutputUri: path, Checksum: checksum), Reused: false);
    }

    /// <summary>The checksum of a whole partial file this unit already wrote (an earlier attempt), or null (a damaged one is reported).</summary>
    private static string? Reusable(string path, string unitKey)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var reader = PartialFile.Open(path);
            if (reader.Header.Unit == unitKey) return reader.VerifyRest();
            DamageLog.Report($"{path}: written by unit {reader.Header.Unit}, expected {unitKey}", "computing it again");
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            DamageLog.Report(e.Message.StartsWith(path, StringComparison.Ordinal) ? e.Message : $"{path}: {e.Message}", "computing it again");
        }
        return null;
    }

    /// <summary>Each piece of the range's partial, folded over its blocks (read again for every piece); one piece alive at a time.</summary>
    private PieceStream Fold(AnalysisTarget target, ShardRange range, CancellationToken ct, Action? completed = null) =>
        new(target.Measure.Pieces(target.Parameters, target.Shape),
            piece => target.Measure.Fold(target.Parameters, target.Shape, piece, () => _reader.Blocks(target, range, ct)), completed);

    /// <summary>
    /// Each piece of the inputs' partials merged, one piece alive at a time; after the last piece every input's
    /// checksum is verified (then <paramref name="completed"/> runs).
    /// </summary>
    private PieceStream Merged(AnalysisTarget target, IReadOnlyList<PartialInput> inputs, CancellationToken ct, Action? completed = null)
    {
        var readers = new List<PartialFile.Reader>();
        try
        {
            foreach (var input in inputs)
            {
                var reader = PartialFile.Open(Run.PartialPath(target.Analysis.Name, input.UnitKey));
                readers.Add(reader);
                if (reader.Header.Unit != input.UnitKey)
                    throw new InvalidDataException($"{Run.PartialPath(target.Analysis.Name, input.UnitKey)}: written by unit {reader.Header.Unit}, expected {input.UnitKey}");
            }
        }
        catch
        {
            foreach (var reader in readers) reader.Dispose();
            throw;
        }
        IPartial Piece(int piece)
        {
            ct.ThrowIfCancellationRequested();
            IPartial? merged = null;
            foreach (var reader in readers)
            {
                var part = reader.Read(target.Measure, target.Parameters, target.Shape, piece);
                merged = merged is null ? part : target.Measure.Merge(target.Parameters, merged, part);
            }
            return merged!;
        }
        return new PieceStream(target.Measure.Pieces(target.Parameters, target.Shape), Piece,
            completed: () => { foreach (var reader in readers) reader.Finish(); completed?.Invoke(); },
            disposed: () => { foreach (var reader in readers) reader.Dispose(); });
    }

    private UnitResult Finalize(AnalysisFinalizeWork unit, CancellationToken ct)
    {
        var target = unit.Target;
        bool verified = false;
        void Verified() => verified = true;
        using (var pieces = unit.Range is { } range ? Fold(target, range, ct, Verified) : Merged(target, unit.Inputs, ct, Verified))
        {
            var result = target.Measure.Finish(target.Parameters, target.Shape, pieces, SideInputLoader.For(target, saes));
            if (!verified) throw new InvalidOperationException($"{target}: measure {target.Measure} finished without reading all of its partial");
            return new UnitResult(AnalysisRows.From(target, result, () => TokenTexts.For(Run.Spec.TokenizerModel.Path)), Reused: false);
        }
    }
}
