// One `ppp.options` item read as a line of a pppd options file is read (pppd's getword):
// words split at white space, "double" or 'single' quotes keep a word together, a
// backslash takes the next character as it is, and a word starting with # begins a
// comment to the end. So `mtu 1400`, copied from an options file, reaches pppd as the two
// words it expects. Pure.

/** The words of one item, or why it cannot be read. */
export function optionWords(item: string): { words: string[] } | { error: string } {
  const words: string[] = [];
  let i = 0;
  while (i < item.length) {
    while (i < item.length && /\s/.test(item[i]!)) i++;
    if (i >= item.length || item[i] === '#') break;
    let word = '';
    /** The open quote, while inside one. */
    let quote = '';
    while (i < item.length && (quote !== '' || !/\s/.test(item[i]!))) {
      const ch = item[i++]!;
      if (ch === '\\') {
        if (i >= item.length) return { error: 'ends with a lone backslash' };
        word += item[i++];
      } else if (quote === '' && (ch === '"' || ch === "'")) {
        quote = ch;
      } else if (ch === quote) {
        quote = '';
      } else {
        word += ch;
      }
    }
    if (quote !== '') return { error: `unterminated ${quote === '"' ? 'double' : 'single'} quote` };
    words.push(word);
  }
  return { words };
}

/** A word written so optionWords reads it back as that one word (quoted when it must be). */
export function quoteOptionWord(word: string): string {
  if (word !== '' && !/[\s"'\\#]/.test(word)) return word;
  return `"${word.replace(/["\\]/g, '\\$&')}"`;
}
