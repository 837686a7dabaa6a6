namespace Sweep.Models.Tests.Demo;

/// <summary>
/// A small corpus in the Brown layout: 12 news files (ca01..ca12) and one humor file (cr01). Each file has two
/// paragraphs: three sentences of 25 words ("a ... a .", "b ... b .", "c ... c ."), then one of 70 words.
/// </summary>
internal static class FakeBrownCorpus
{
    public static string Write(string directory)
    {
        Directory.CreateDirectory(directory);
        var ids = Enumerable.Range(1, 12).Select(i => ($"ca{i:D2}", "news")).Append(("cr01", "humor")).ToList();
        File.WriteAllLines(Path.Combine(directory, "cats.txt"), ids.Select(f => $"{f.Item1} {f.Item2}"));
        File.WriteAllText(Path.Combine(directory, "README"), "BROWN CORPUS\nredistribution permitted.\n");
        static string Sentence(string word, int n) => "\t" + string.Join(' ', Enumerable.Repeat(word + "/nn", n - 1)) + " ./.";
        foreach (var (id, _) in ids)
            File.WriteAllText(Path.Combine(directory, id),
                $"\n\n{Sentence("a", 25)}\n{Sentence("b", 25)}\n{Sentence("c", 25)}\n\n\n{Sentence("long", 70)}\n\n");
        return directory;
    }
}
