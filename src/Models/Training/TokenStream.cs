namespace Sweep.Models.Training;

/// <summary>
/// A corpus as one stream of token ids: each document's tokens followed by the end-of-text id, and where each
/// document starts.
/// </summary>
public sealed class TokenStream
{
    public int[] Tokens { get; }
    public int[] DocumentStarts { get; }

    private TokenStream(int[] tokens, int[] documentStarts) { Tokens = tokens; DocumentStarts = documentStarts; }

    public static TokenStream FromDocuments(IEnumerable<IReadOnlyList<int>> documents, int endOfText)
    {
        var tokens = new List<int>();
        var starts = new List<int>();
        foreach (var document in documents)
        {
            if (document.Count == 0) continue;
            starts.Add(tokens.Count);
            tokens.AddRange(document);
            tokens.Add(endOfText);
        }
        return new TokenStream([.. tokens], [.. starts]);
    }

    /// <summary>
    /// The starts of the held-out evaluation windows: of the non-overlapping windows of <paramref name="sequenceLength"/> + 1
    /// tokens from the stream's start (window w starts at w x L), at most <paramref name="maxWindows"/>, evenly spaced
    /// (window floor(i x W / M) for i = 0..M-1), so a capped evaluation still samples the whole stream.
    /// </summary>
    public IReadOnlyList<int> EvaluationWindowStarts(int sequenceLength, int maxWindows)
    {
        int windows = Tokens.Length <= sequenceLength ? 0 : (Tokens.Length - 1) / sequenceLength;
        int m = Math.Min(windows, maxWindows);
        return Enumerable.Range(0, m).Select(i => (int)((long)i * windows / m) * sequenceLength).ToList();
    }

    /// <summary>The tokens the windows at <paramref name="starts"/> predict: tokens start + 1 .. start + L of each.</summary>
    public IEnumerable<int> EvaluationTargets(IReadOnlyList<int> starts, int sequenceLength) =>
        starts.SelectMany(s => Tokens.Skip(s + 1).Take(sequenceLength));
}

/// <summary>
/// The baseline a language model must beat: each token's probability is its frequency in the training stream with
/// add-one (Laplace) smoothing over the whole vocabulary, p(v) = (count(v) + 1) / (N + V), whatever came before it.
/// </summary>
public static class UnigramBaseline
{
    /// <summary>Mean negative log-likelihood (nats) of <paramref name="targets"/> under the unigram model of <paramref name="training"/>.</summary>
    public static double Loss(TokenStream training, IEnumerable<int> targets, int vocabSize)
    {
        var counts = new long[vocabSize];
        foreach (int t in training.Tokens) counts[t]++;
        double logTotal = Math.Log(training.Tokens.Length + (double)vocabSize);
        double sum = 0;
        long n = 0;
        foreach (int t in targets)
        {
            sum += logTotal - Math.Log(counts[t] + 1.0);
            n++;
        }
        if (n == 0) throw new ArgumentException("no held-out targets to evaluate the unigram baseline on");
        return sum / n;
    }
}
