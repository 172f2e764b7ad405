//! Three-character pieces of text (trigrams), as SQLite's FTS5 trigram index and PostgreSQL's `pg_trgm`
//! indexes hold them: which of a search's pieces are rarest among findings, judged from a sample, so the index
//! is asked about the pieces that narrow a search most (asking about common ones costs a walk over nearly
//! every finding).

use std::collections::{HashMap, HashSet};

/// How many of its rarest pieces a search asks the index about: each is one lookup, and a finding holding
/// the three rarest pieces of a search rarely lacks the others.
const PIECES_ASKED: usize = 3;

/// A piece held by more than this many times the findings the rarest piece is held by is not asked about:
/// reading its findings' list costs more than the few findings it would leave out.
const FAR_WIDER: f64 = 10.0;

/// A search the sample expects in more than this share of findings is left to the scan: reading that many
/// findings by id costs more than reading them all in order.
const WIDE_SHARE: f64 = 0.3;

/// Below this many expected findings the index is asked whatever the share (small tables: both are cheap).
const FEW_FINDINGS: f64 = 20_000.0;

/// How many sampled findings must hold every piece asked about for the sample to tell whether a piece beside
/// one of them narrows the answer (`PieceSample::narrows`).
const SEEN_TO_JUDGE: usize = 4;

/// The pieces of `text`, lowercased: every run of three characters, spaces and punctuation included, each
/// once, in order of first appearance. Text of fewer than three characters has none.
#[must_use]
pub fn pieces(text: &str) -> Vec<String> {
    pieces_at(text).into_iter().map(|(_, piece)| piece).collect()
}

/// `pieces`, each with every position (in lowercased characters) where it appears.
fn pieces_at(text: &str) -> Vec<(Vec<usize>, String)> {
    let chars: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let mut found: Vec<(Vec<usize>, String)> = Vec::new();
    let mut first_of: HashMap<String, usize> = HashMap::new();
    for (at, window) in chars.windows(3).enumerate() {
        let piece: String = window.iter().collect();
        match first_of.get(&piece) {
            Some(&index) => found[index].0.push(at),
            None => {
                first_of.insert(piece.clone(), found.len());
                found.push((vec![at], piece));
            }
        }
    }
    found
}

/// The word edges `pg_trgm` pads and indexes in `text`, lowercased: for each word (a run of letters and digits),
/// its first character after two spaces (`"  a"`: a word starts with "a"), and for one of two characters or
/// more its first two after a space (`" ab"`: a word starts with "ab") and its last two before one (`"yz "`: a
/// word ends with "yz").
fn word_edges(text: &str) -> HashSet<String> {
    let lowered = text.to_lowercase();
    let mut edges = HashSet::new();
    for word in lowered.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = word.chars().collect();
        if let [first, ..] = chars[..] {
            edges.insert([' ', ' ', first].iter().collect());
        }
        if let [first, second, ..] = chars[..] {
            edges.insert([' ', first, second].iter().collect());
        }
        if let [.., last_but_one, last] = chars[..] {
            edges.insert([last_but_one, last, ' '].iter().collect());
        }
    }
    edges
}

/// Which sampled findings hold each piece, and how many hold each word edge `pg_trgm` indexes.
#[derive(Debug, Default, Clone)]
pub struct PieceSample {
    findings: u32,
    /// Of each piece, the places in the sample of the findings holding it, ascending: how many judges how rare
    /// the piece is, which ones whether it narrows the findings holding other pieces (`narrows`).
    holders: HashMap<String, Vec<u16>>,
    /// Keyed by `TrigramIndex::pg_trgm_key` (`"  a"`, `" ab"`, `"yz "`): a piece at a word's edge asks `pg_trgm` for
    /// every word with that edge, which may be far more findings than hold the piece ("-51" in "component-51"
    /// asks for every word starting with "51": finding numbers too).
    findings_with_edge: HashMap<String, u32>,
}

impl PieceSample {
    /// Notes the pieces and word edges of each sampled finding's texts (each once per finding), of the first
    /// 65,536 findings (a sample is a few thousand).
    pub fn from_findings<'a, F, T>(findings: F) -> Self
    where
        F: IntoIterator<Item = T>,
        T: IntoIterator<Item = &'a str>,
    {
        let mut sample = Self::default();
        for (texts, place) in findings.into_iter().zip(0..=u16::MAX) {
            sample.findings += 1;
            let mut held: HashSet<String> = HashSet::new();
            let mut edges: HashSet<String> = HashSet::new();
            for text in texts {
                held.extend(pieces(text));
                edges.extend(word_edges(text));
            }
            for piece in held {
                sample.holders.entry(piece).or_default().push(place);
            }
            for edge in edges {
                *sample.findings_with_edge.entry(edge).or_default() += 1;
            }
        }
        sample
    }

    /// How many sampled findings `index` would name when asked about `piece`, and what it looks up for it
    /// (`None`: it cannot be asked about the piece).
    fn named_by(&self, piece: &str, index: TrigramIndex) -> Option<(u32, LookedUp)> {
        let count = |counts: &HashMap<String, u32>, key: &str| counts.get(key).copied().unwrap_or(0);
        let holding = u32::try_from(self.holders(piece).len()).unwrap_or(u32::MAX);
        match index {
            TrigramIndex::Fts5 => index.can_be_asked(piece).then_some((holding, LookedUp::Trigram)),
            TrigramIndex::PgTrgm => match TrigramIndex::pg_trgm_key(piece)? {
                PgTrgmKey::Within => Some((holding, LookedUp::Trigram)),
                PgTrgmKey::Edge(edge) => Some((count(&self.findings_with_edge, &edge), LookedUp::WordEdge)),
                PgTrgmKey::WordStart(start) => Some((count(&self.findings_with_edge, &start), LookedUp::WordStart)),
            },
        }
    }

    /// The places of the sampled findings holding `piece`.
    fn holders(&self, piece: &str) -> &[u16] {
        self.holders.get(piece).map_or(&[], Vec::as_slice)
    }

    /// Whether asking about `piece` as well would leave out at least half of the sampled findings that hold every
    /// piece of `asked` (`None`: fewer than `SEEN_TO_JUDGE` of them were sampled, too few to tell).
    fn narrows(&self, asked: &[&str], piece: &str) -> Option<bool> {
        let (first, others) = asked.split_first()?;
        let mut holding_all = self.holders(first).to_vec();
        for other in others {
            let holding = self.holders(other);
            holding_all.retain(|place| holding.binary_search(place).is_ok());
        }
        if holding_all.len() < SEEN_TO_JUDGE {
            return None;
        }
        let holding = self.holders(piece);
        let holding_it_too = holding_all.iter().filter(|place| holding.binary_search(place).is_ok()).count();
        Some(holding_it_too * 2 <= holding_all.len())
    }

    /// The question to put to `index` for `search` among `total` findings, or `None` when the index cannot
    /// narrow it: no piece it can be asked about, or pieces so common that a scan is cheaper. The index's
    /// answer holds every finding whose text contains `search` (and perhaps others, which the search's `LIKE`
    /// then leaves out).
    #[must_use]
    pub fn narrowing(&self, search: &str, total: u64, index: TrigramIndex) -> Option<IndexQuestion> {
        // Rarest first; of pieces as rare (none seen, in a small sample), three characters before a word's
        // edge of two, which names every word with that edge, before a word's first character, which names
        // every word starting with it (`LookedUp`'s order).
        let mut asked: Vec<(u32, LookedUp, Vec<usize>, String)> = pieces_at(search)
            .into_iter()
            .filter_map(|(at, piece)| {
                let (held, looked_up) = self.named_by(&piece, index)?;
                Some((held, looked_up, at, piece))
            })
            .collect();
        asked.sort_unstable();
        let share = |held: u32| if self.findings == 0 { 0.0 } else { f64::from(held) / f64::from(self.findings) };
        let rarest = share(asked.first()?.0);
        #[allow(clippy::cast_precision_loss)] // an estimate of how many findings: precision does not matter
        let expected = rarest * total as f64;
        if rarest > WIDE_SHARE && expected > FEW_FINDINGS {
            return None;
        }
        // After the rarest, a piece held far more widely narrows little and costs a walk over its findings; so
        // does one beside a piece asked already, as they share two characters: nearly every finding that holds
        // "-51" holds "t-5" in "component-51" (BENCHMARKS "Text search", twentieth session) — unless the sample
        // shows that most findings holding the pieces asked lack it: "345" is in finding numbers too, "-34" only
        // in "component-34…", so the two name a third of what "345" names (twenty-ninth session).
        let mut chosen: Vec<(Vec<usize>, String)> = Vec::with_capacity(PIECES_ASKED);
        for (held, looked_up, at, piece) in asked {
            if chosen.len() == PIECES_ASKED {
                break;
            }
            let beside_one_asked = chosen
                .iter()
                .any(|(asked_at, _)| asked_at.iter().any(|asked| at.iter().any(|here| asked.abs_diff(*here) == 1)));
            let narrows_further = || {
                let asked: Vec<&str> = chosen.iter().map(|(_, piece)| piece.as_str()).collect();
                looked_up == LookedUp::Trigram && self.narrows(&asked, &piece) == Some(true)
            };
            // A word's first character names every word starting with it: asked only as the rarest piece.
            if chosen.is_empty()
                || (looked_up != LookedUp::WordStart
                    && share(held) <= WIDE_SHARE
                    && share(held) <= rarest * FAR_WIDER
                    && (!beside_one_asked || narrows_further()))
            {
                chosen.push((at, piece));
            }
        }
        let pieces = chosen.into_iter().map(|(_, piece)| piece).collect();
        // At most the rarest piece's findings hold them all; `as` saturates.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let expected_findings = expected.ceil() as u64;
        Some(IndexQuestion { pieces, expected_findings })
    }
}

/// The trigram index a question is put to, which decides the pieces it can be asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrigramIndex {
    /// SQLite's FTS5 trigram table (migration 21): any piece but one with a NUL (FTS5 reads its query as a C
    /// string, so a NUL would end it inside a quoted piece).
    Fts5,
    /// PostgreSQL's `pg_trgm` GIN indexes (migration 23), asked with `LIKE '%abc%'`. `pg_trgm` splits text
    /// into words at everything but letters and digits and pads each word's ends (two spaces before, one
    /// after), so such a `LIKE` asks for the trigram "abc" when all three are letters or digits, for the words
    /// starting with "ab" when the piece is "-ab", for the words ending with "yz" when it is "yz-", and for the
    /// words starting with "a" when it is "t-a" or "--a" (ASCII letters and digits here: whether another
    /// script's letters count depends on the database's locale).
    PgTrgm,
}

/// What a trigram index looks up for a piece, narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LookedUp {
    /// The three characters themselves.
    Trigram,
    /// Every word starting or ending with two of them (`pg_trgm`'s padded edge).
    WordEdge,
    /// Every word starting with the last of them (`pg_trgm`'s padded edge of one character).
    WordStart,
}

/// What `pg_trgm` looks up for a piece asked with `LIKE '%piece%'`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PgTrgmKey {
    /// Three letters or digits: the trigram itself, within a word.
    Within,
    /// A word's edge of two characters, padded as `pg_trgm` pads it: `" ab"` or `"yz "`.
    Edge(String),
    /// A word's first character, padded: `"  a"`.
    WordStart(String),
}

impl TrigramIndex {
    /// Whether this index can be asked about `piece`.
    #[must_use]
    pub fn can_be_asked(self, piece: &str) -> bool {
        match self {
            Self::Fts5 => !piece.contains('\0'),
            Self::PgTrgm => Self::pg_trgm_key(piece).is_some(),
        }
    }

    /// What `pg_trgm` looks up for `piece`, or `None` when it looks up no trigram of the piece's own: then
    /// the piece holds a character of another script, a `LIKE` wildcard, an escape or a quote (a piece is
    /// written into the statement), or a separator anywhere but at one end.
    fn pg_trgm_key(piece: &str) -> Option<PgTrgmKey> {
        let word = |c: char| c.is_ascii_alphanumeric();
        // Punctuation and spaces end a word in `pg_trgm`; none of these mean anything to `LIKE` or in quotes.
        let separator = |c: char| (c.is_ascii_punctuation() || c == ' ') && !matches!(c, '%' | '_' | '\\' | '\'');
        match piece.chars().collect::<Vec<char>>()[..] {
            [a, b, c] if word(a) && word(b) && word(c) => Some(PgTrgmKey::Within),
            [s, a, b] if separator(s) && word(a) && word(b) => Some(PgTrgmKey::Edge([' ', a, b].iter().collect())),
            [y, z, s] if word(y) && word(z) && separator(s) => Some(PgTrgmKey::Edge([y, z, ' '].iter().collect())),
            // "t-7": the "t" before the separator is a word's end of one character, which `pg_trgm` pads to two
            // ("t ") and so looks up nothing for; the "7" after it starts a word ("  7"). One digit after a
            // hyphen ("component-7") asks for a tenth of the findings instead of leaving the search to read
            // them all.
            [y, s, a] if (word(y) || separator(y)) && separator(s) && word(a) => {
                Some(PgTrgmKey::WordStart([' ', ' ', a].iter().collect()))
            }
            _ => None,
        }
    }
}

/// What to ask the trigram index, and how many findings the sample expects its answer to name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexQuestion {
    /// The pieces asked about, lowercased, rarest first: a finding whose text holds the search holds them all.
    pub pieces: Vec<String>,
    pub expected_findings: u64,
}

impl IndexQuestion {
    /// The question as an FTS5 `MATCH` expression: each piece quoted, all required.
    #[must_use]
    pub fn fts5_match_expression(&self) -> String {
        let quoted: Vec<String> =
            self.pieces.iter().map(|piece| format!("\"{}\"", piece.replace('"', "\"\""))).collect();
        quoted.join(" AND ")
    }
}

#[cfg(test)]
mod tests {
    use super::TrigramIndex::{Fts5, PgTrgm};
    use super::*;

    #[test]
    fn pieces_are_lowercased_runs_of_three_characters_each_once() {
        assert_eq!(pieces("AbcAbc"), ["abc", "bca", "cab"]);
        assert_eq!(pieces("n c"), ["n c"]);
        assert_eq!(pieces("Éco"), ["éco"]);
        assert!(pieces("ab").is_empty());
        assert!(pieces("").is_empty());
    }

    fn sample() -> PieceSample {
        // "com" in every finding, "512" in one of four.
        PieceSample::from_findings([
            ["component-512", "", "SCAN-1"],
            ["component-7", "desc", "SCAN-2"],
            ["component-8", "other", "SCAN-3"],
            ["component-9", "more", "SCAN-4"],
        ])
    }

    #[test]
    fn the_rarest_three_pieces_are_asked_about_quoted() {
        let question = sample().narrowing("component-512", 1_000_000, Fts5).expect("narrow enough");
        // "t-5", "-51" and "512" were each seen once, the others four times; "-51" is beside both.
        assert_eq!(question.fts5_match_expression(), r#""t-5" AND "512""#);
        // Only the rare piece of a search whose other pieces every finding holds.
        let question = sample().narrowing("Component-7", 1_000_000, Fts5).expect("narrow enough");
        assert_eq!(question.fts5_match_expression(), r#""t-7""#);
        let quoted = sample().narrowing(r#"a"b"#, 1_000_000, Fts5).expect("unseen");
        assert_eq!(quoted.fts5_match_expression(), r#""a""b""#);
    }

    #[test]
    fn pg_trgm_is_asked_about_three_letters_or_digits_or_a_word_edge() {
        // "512" is within a word; "-51" asks for the words starting with "51", "nt-" for those ending with "nt".
        assert_eq!(TrigramIndex::pg_trgm_key("512"), Some(PgTrgmKey::Within));
        assert_eq!(TrigramIndex::pg_trgm_key("-51"), Some(PgTrgmKey::Edge(" 51".to_owned())));
        assert_eq!(TrigramIndex::pg_trgm_key("nt-"), Some(PgTrgmKey::Edge("nt ".to_owned())));
        assert_eq!(TrigramIndex::pg_trgm_key(" ab"), Some(PgTrgmKey::Edge(" ab".to_owned())));
        // A separator in the middle: the character after it starts a word ("t" before it, a word's end of one
        // character, has no trigram of its own).
        assert_eq!(TrigramIndex::pg_trgm_key("t-5"), Some(PgTrgmKey::WordStart("  5".to_owned())));
        assert_eq!(TrigramIndex::pg_trgm_key("a b"), Some(PgTrgmKey::WordStart("  b".to_owned())));
        assert_eq!(TrigramIndex::pg_trgm_key("--5"), Some(PgTrgmKey::WordStart("  5".to_owned())));
        // A one-letter word between separators, a word ending after a separator, another script's letter, or
        // LIKE's and SQL's own characters: no trigram of the piece's own, or nothing that may be written into
        // the statement.
        for piece in ["-5-", "5--", "t-é", "éco", "é51", "%51", "_51", "51%", "51_", "\\51", "'51", "51'", "%-5", "_-5"]
        {
            assert_eq!(TrigramIndex::pg_trgm_key(piece), None, "{piece}");
        }
        // "component" is in every title; "512" in one, while four words start with "51".
        let mut titles: Vec<String> = (60..76).map(|n| format!("component-{n}")).collect();
        titles.extend(["component-512", "component-51", "component-510", "component-519"].map(str::to_owned));
        let of_titles = PieceSample::from_findings(titles.iter().map(|title| [title.as_str()]));
        let question = of_titles.narrowing("component-512", 1_000_000, PgTrgm).expect("narrow enough");
        assert_eq!(question.pieces, ["512"], "rarer than the words starting with 51");
        let question = of_titles.narrowing("component-51", 1_000_000, PgTrgm).expect("narrow enough");
        assert_eq!(question.pieces, ["-51"], "the only piece of the search's number pg_trgm holds");
        assert_eq!(question.expected_findings, 200_000, "4 of 20 findings have a word starting with 51");
        // Neither "-12" nor "123" seen: the three characters are asked, not every word starting with "12".
        let question = sample().narrowing("component-123", 1_000_000, PgTrgm).expect("narrow enough");
        assert_eq!(question.pieces, ["123"]);
        // One digit: "t-7" asks for the words starting with 7 (6 of the 20 titles); the rest are in every one.
        let question = of_titles.narrowing("component-7", 1_000_000, PgTrgm).expect("narrow enough");
        assert_eq!(question.pieces, ["t-7"]);
        assert_eq!(question.expected_findings, 300_000);
        let question = sample().narrowing("a b", 1_000_000, PgTrgm).expect("no word starts with b");
        assert_eq!(question.pieces, ["a b"]);
        assert_eq!(sample().narrowing("éco", 1_000_000, PgTrgm), None, "a letter pg_trgm may not count as one");
        assert_eq!(sample().narrowing("x%_y", 1_000_000, PgTrgm), None, "LIKE's own characters are never asked");
    }

    #[test]
    fn a_piece_at_a_word_edge_is_judged_by_the_words_with_that_edge_not_by_the_findings_holding_it() {
        // One title holds "-51", but a third of the findings have a word starting with 51 (finding numbers):
        // pg_trgm would name all of those, so the search is left to the scan on PostgreSQL. FTS5 holds "-51"
        // itself and names the one.
        let mut findings: Vec<[String; 2]> =
            (0..20).map(|n| [format!("component-{}", 60 + n), format!("finding {}", 7000 + n)]).collect();
        findings.extend((0..10).map(|n| [format!("component-{}", 80 + n), format!("finding {}", 5100 + n)]));
        findings.push(["component-51".to_owned(), "finding 9".to_owned()]);
        let sample = PieceSample::from_findings(findings.iter().map(|texts| texts.iter().map(String::as_str)));
        assert_eq!(sample.narrowing("component-51", 1_000_000, PgTrgm), None);
        let question = sample.narrowing("component-51", 1_000_000, Fts5).expect("narrow enough");
        assert_eq!(question.pieces, ["t-5"], "as rare as -51, which is beside it");
    }

    #[test]
    fn word_edges_are_the_first_and_last_two_characters_of_each_word_padded_as_pg_trgm_pads_them() {
        let edges = word_edges("Finding 512-x a");
        let expected: HashSet<String> =
            ["  f", " fi", "ng ", "  5", " 51", "12 ", "  x", "  a"].map(str::to_owned).into();
        assert_eq!(edges, expected, "words of one character have no edge of two, only their start");
    }

    #[test]
    fn a_piece_held_ten_times_as_widely_as_the_rarest_is_not_asked_about() {
        let mut findings = vec!["abcd"];
        findings.extend(std::iter::repeat_n("bcd", 20));
        findings.extend(std::iter::repeat_n("xyz", 79));
        let sample = PieceSample::from_findings(findings.into_iter().map(|text| [text]));
        let question = sample.narrowing("abcd", 1_000, Fts5).expect("narrow enough");
        assert_eq!(question.pieces, ["abc"], "bcd: 21 % of findings, 21 times abc's 1 %");
        assert_eq!(question.expected_findings, 10);
    }

    #[test]
    fn a_piece_beside_one_asked_about_is_not_asked_about_but_one_two_along_is() {
        // Every piece equally rare, so taken in order: "abc"; not "bcd", beside it; "cde", two along from it;
        // not "def", beside "cde".
        let sample = PieceSample::from_findings([["abcdef"], ["xyz"], ["uvw"], ["rst"]]);
        let question = sample.narrowing("abcdef", 1_000, Fts5).expect("narrow enough");
        assert_eq!(question.pieces, ["abc", "cde"]);
        // A repeated piece is beside what is beside any of its places: "aaa" (at 0 and 1) is beside the rarer
        // "aab" (at 2).
        let mut findings = vec!["aaab", "aaa"];
        findings.extend(std::iter::repeat_n("xyz", 8));
        let sample = PieceSample::from_findings(findings.into_iter().map(|text| [text]));
        assert_eq!(sample.narrowing("aaaab", 1_000, Fts5).expect("narrow").pieces, ["aab"]);
    }

    #[test]
    fn a_piece_beside_one_asked_about_is_asked_about_too_where_the_sample_shows_it_narrows_the_answer() {
        // "345" is in four titles and six finding numbers, "-34" in the four titles and twelve others: the
        // findings holding both are a third of those holding "345". "t-3" is in half the findings. Every finding
        // holding "-60" holds "t-6".
        let mut texts: Vec<String> = Vec::new();
        texts.extend(std::iter::repeat_n("component-345".to_owned(), 4));
        texts.extend((0..6).map(|n| format!("component-{} finding 1345{n}", 700 + n)));
        texts.extend((0..12).map(|n| format!("component-34{}", n % 5)));
        texts.extend((0..100).map(|n| format!("component-30{}", n % 10)));
        texts.extend(std::iter::repeat_n("component-60".to_owned(), 5));
        texts.extend(std::iter::repeat_n("component-6".to_owned(), 5));
        texts.extend((0..80).map(|n| format!("component-{}", 710 + n)));
        let sample = PieceSample::from_findings(texts.iter().map(|text| [text.as_str()]));
        let question = sample.narrowing("component-345", 1_000_000, Fts5).expect("narrow enough");
        assert_eq!(question.pieces, ["345", "-34"]);
        let question = sample.narrowing("component-60", 1_000_000, Fts5).expect("narrow enough");
        assert_eq!(question.pieces, ["-60"], "t-6 is beside it and in every finding holding it");
        // Where fewer than four sampled findings hold "345", the sample cannot tell, and "-34", beside it, is not
        // asked about ("t-3" is in too many findings).
        let mut texts = vec!["component-345", "finding 1345", "component-341", "component-342", "component-343"];
        texts.extend(std::iter::repeat_n("component-3", 60));
        texts.extend(std::iter::repeat_n("other", 80));
        let few = PieceSample::from_findings(texts.into_iter().map(|text| [text]));
        let question = few.narrowing("component-345", 1_000_000, Fts5).expect("narrow enough");
        assert_eq!(question.pieces, ["345"]);
    }

    #[test]
    fn a_search_too_short_or_too_common_is_left_to_the_scan() {
        assert_eq!(sample().narrowing("ab", 1_000_000, Fts5), None);
        assert_eq!(sample().narrowing("a\0b", 1_000_000, Fts5), None, "no piece without a NUL");
        assert_eq!(sample().narrowing("a\0bcd", 1_000_000, Fts5).expect("bcd").pieces, ["bcd"]);
        assert_eq!(sample().narrowing("component", 1_000_000, Fts5), None);
        // Common, but few findings in all: the index is asked anyway.
        assert!(sample().narrowing("component", 1_000, Fts5).is_some());
        // Nothing sampled: every piece is rare.
        assert!(PieceSample::default().narrowing("anything", 1_000_000, Fts5).is_some());
    }
}
