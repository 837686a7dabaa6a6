namespace Sweep.Analysis.Concepts;

/// <summary>
/// The label of every sequence of a corpus for one label field: <see cref="Names"/> in a fixed order (the order every
/// statistic and result keeps; the pipeline uses the order of first appearance in the corpus) and, per corpus-wide
/// sequence index (a shard's <c>seq</c>), the index of its label in <see cref="Names"/>, or −1 for a sequence that
/// takes no part (an analysis restricted to some labels).
/// </summary>
public sealed class LabelIndex
{
    public IReadOnlyList<string> Names { get; }
    private readonly int[] _bySequence;

    public LabelIndex(IReadOnlyList<string> names, int[] labelBySequence)
    {
        if (names.Count == 0) throw new ArgumentException("no labels");
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count) throw new ArgumentException("label names repeat");
        foreach (int l in labelBySequence)
            if (l < -1 || l >= names.Count) throw new ArgumentException($"label index {l} outside -1..{names.Count - 1}");
        Names = names;
        _bySequence = labelBySequence;
    }

    /// <summary>From one label per sequence (null: none), names in order of first appearance.</summary>
    public static LabelIndex FromSequenceLabels(IReadOnlyList<string?> labels)
    {
        var names = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var bySequence = new int[labels.Count];
        for (int s = 0; s < labels.Count; s++)
        {
            if (labels[s] is not { } label) { bySequence[s] = -1; continue; }
            if (!index.TryGetValue(label, out int l)) { l = names.Count; index[label] = l; names.Add(label); }
            bySequence[s] = l;
        }
        return new LabelIndex(names, bySequence);
    }

    public int SequenceCount => _bySequence.Length;

    /// <summary>The label index of corpus-wide sequence <paramref name="seq"/>; a sequence outside the corpus is an error.</summary>
    public int Of(int seq) => seq >= 0 && seq < _bySequence.Length
        ? _bySequence[seq]
        : throw new ArgumentOutOfRangeException(nameof(seq), seq, $"sequence {seq} is not in the labelled corpus of {_bySequence.Length} sequences");

    /// <summary>The same sequences keeping only <paramref name="keep"/>, in that order (others become −1); an unknown name is an error.</summary>
    public LabelIndex Restrict(IReadOnlyList<string> keep)
    {
        var map = Enumerable.Repeat(-1, Names.Count).ToArray();
        for (int k = 0; k < keep.Count; k++)
        {
            int l = Names.ToList().IndexOf(keep[k]);
            if (l < 0) throw new ArgumentException($"label '{keep[k]}' does not occur, expected one of: {string.Join(", ", Names)}");
            map[l] = k;
        }
        return new LabelIndex(keep, _bySequence.Select(l => l < 0 ? -1 : map[l]).ToArray());
    }
}
