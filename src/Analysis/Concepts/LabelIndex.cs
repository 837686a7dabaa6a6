namespace Sweep.Analysis.Concepts;

/// <summary>
/// The label of every sequence of a corpus for one label field: <see cref="Names"/> in a fixed order (the order every
/// statistic and result keeps; the pipeline uses the order of first appearance in the corpus) and, per corpus-wide
/// sequence index (a shard's <c>seq</c>), the index of its label in <see cref="Names"/>, or −1 for a sequence that
/// takes no part (an analysis restricted to some labels). An index may also know only some sequences — those of one
/// block, from its rows' labels (<see cref="FromRows"/>).
/// </summary>
public sealed class LabelIndex
{
    public IReadOnlyList<string> Names { get; }
    private readonly int[]? _bySequence;
    private readonly Dictionary<int, int>? _bySomeSequences;

    public LabelIndex(IReadOnlyList<string> names, int[] labelBySequence) : this(names, labelBySequence, null) { }

    private LabelIndex(IReadOnlyList<string> names, int[]? labelBySequence, Dictionary<int, int>? bySomeSequences)
    {
        if (names.Count == 0) throw new ArgumentException("no labels");
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count) throw new ArgumentException("label names repeat");
        foreach (int l in labelBySequence ?? bySomeSequences!.Values.ToArray())
            if (l < -1 || l >= names.Count) throw new ArgumentException($"label index {l} outside -1..{names.Count - 1}");
        Names = names;
        _bySequence = labelBySequence;
        _bySomeSequences = bySomeSequences;
    }

    /// <summary>
    /// The labels of the sequences a block's rows belong to: <paramref name="rowLabel"/>[r] is row r's label index in
    /// <paramref name="names"/> (−1: none), and every row of one sequence must carry the same one.
    /// </summary>
    public static LabelIndex FromRows(IReadOnlyList<string> names, int[] seq, int[] rowLabel)
    {
        if (rowLabel.Length != seq.Length) throw new ArgumentException($"{rowLabel.Length} row labels for {seq.Length} rows");
        var bySequence = new Dictionary<int, int>();
        for (int r = 0; r < seq.Length; r++)
            if (!bySequence.TryAdd(seq[r], rowLabel[r]) && bySequence[seq[r]] != rowLabel[r])
                throw new ArgumentException($"row {r}: sequence {seq[r]} carries two labels, expected one label per sequence (a prompt)");
        return new LabelIndex(names, null, bySequence);
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

    /// <summary>The label index of corpus-wide sequence <paramref name="seq"/>; a sequence the index does not know is an error.</summary>
    public int Of(int seq)
    {
        if (_bySequence is not null)
            return seq >= 0 && seq < _bySequence.Length
                ? _bySequence[seq]
                : throw new ArgumentOutOfRangeException(nameof(seq), seq, $"sequence {seq} is not in the labelled corpus of {_bySequence.Length} sequences");
        return _bySomeSequences!.TryGetValue(seq, out int label) ? label
            : throw new ArgumentOutOfRangeException(nameof(seq), seq, $"sequence {seq} has no label in this block");
    }

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
        int Map(int l) => l < 0 ? -1 : map[l];
        return _bySequence is not null
            ? new LabelIndex(keep, _bySequence.Select(Map).ToArray())
            : new LabelIndex(keep, null, _bySomeSequences!.ToDictionary(p => p.Key, p => Map(p.Value)));
    }
}
