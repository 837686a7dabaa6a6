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

    /// <summary>Non-overlapping evaluation windows of <paramref name="sequenceLength"/> + 1 tokens that fit in <paramref name="tokens"/> tokens.</summary>
    public static int EvaluationWindows(int tokens, int sequenceLength) => tokens <= sequenceLength ? 0 : (tokens - 1) / sequenceLength;

    /// <summary>
    /// The tokens a held-out evaluation predicts: window w (starting at w x <paramref name="sequenceLength"/>) predicts
    /// tokens w x L + 1 .. w x L + L, for every window that fits.
    /// </summary>
    public IEnumerable<int> EvaluationTargets(int sequenceLength)
    {
        int count = EvaluationWindows(Tokens.Length, sequenceLength) * sequenceLength;
        for (int i = 1; i <= count; i++) yield return Tokens[i];
    }
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
