using System.Text;
using Sweep.Models.Tokenizers;
using Sweep.Tests.Common;
using Xunit;

namespace Sweep.Jobs.Tests.Tokenizers;

public class TokenTextsTests
{
    [Theory]
    [InlineData("gpt2-tokenizer")]
    [InlineData("llama2-tokenizer")]
    public void Tokens_that_are_parts_of_a_character_show_their_bytes_and_together_spell_the_character(string fixture)
    {
        var dir = Fixtures.TryGet(fixture);
        if (dir is null) return;
        var tokenizer = TokenizerLoader.Load(dir);
        var texts = new TokenTexts(tokenizer);
        const string text = " 🦜 ok";
        var ids = tokenizer.Encode(text, addBos: false);
        var shown = texts.Of(ids);

        Assert.DoesNotContain(shown, s => s.Contains('\uFFFD'));
        Assert.Contains(shown, s => s.Contains("⟨0xF0⟩"));   // 🦜 is F0 9F A6 9C; no vocabulary has it whole
        var bytes = shown.SelectMany(BytesShown).ToArray();
        Assert.Equal(Encoding.UTF8.GetBytes(text).Where(b => b != (byte)' '), bytes.Where(b => b != (byte)' '));
    }

    [Fact]
    public void Bytes_that_form_whole_characters_stay_text_and_control_characters_stay_visible()
    {
        Assert.Equal("é⟨0xE2⟩⟨0x82⟩↵", TokenTexts.ReadableBytes([0xC3, 0xA9, 0xE2, 0x82, (byte)'\n']));
        Assert.Equal("a⟨U+001C⟩", TokenTexts.ReadableBytes([(byte)'a', 0x1C]));
    }

    /// <summary>The bytes a shown token stands for: ⟨0xNN⟩ as that byte, the rest as its UTF-8 (SentencePiece's leading space kept as a space).</summary>
    private static IEnumerable<byte> BytesShown(string shown)
    {
        for (int i = 0; i < shown.Length;)
        {
            if (shown.AsSpan(i).StartsWith("⟨0x") && shown.Length >= i + 6 && shown[i + 5] == '⟩')
            {
                yield return Convert.ToByte(shown.Substring(i + 3, 2), 16);
                i += 6;
            }
            else
            {
                int width = char.IsSurrogatePair(shown, i) ? 2 : 1;
                foreach (byte b in Encoding.UTF8.GetBytes(shown.Substring(i, width))) yield return b;
                i += width;
            }
        }
    }
}
