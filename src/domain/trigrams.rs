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

/// How many sampled findings hold each piece.
#[derive(Debug, Default, Clone)]
pub struct PieceSample {
    findings: u32,
    findings_with: HashMap<String, u32>,
}

impl PieceSample {
    /// Counts the pieces of each sampled finding's texts (a piece counts once per finding).
    pub fn from_findings<'a, F, T>(findings: F) -> Self
    where
        F: IntoIterator<Item = T>,
        T: IntoIterator<Item = &'a str>,
    {
        let mut sample = Self::default();
        for texts in findings {
            sample.findings += 1;
            let held: HashSet<String> = texts.into_iter().flat_map(pieces).collect();
            for piece in held {
                *sample.findings_with.entry(piece).or_default() += 1;
            }
        }
        sample
    }

    /// The question to put to `index` for `search` among `total` findings, or `None` when the index cannot
    /// narrow it: no piece it can be asked about, or pieces so common that a scan is cheaper. The index's
    /// answer holds every finding whose text contains `search` (and perhaps others, which the search's `LIKE`
    /// then leaves out).
    #[must_use]
    pub fn narrowing(&self, search: &str, total: u64, index: TrigramIndex) -> Option<IndexQuestion> {
        let mut asked: Vec<(u32, Vec<usize>, String)> = pieces_at(search)
            .into_iter()
            .filter(|(_, piece)| index.can_be_asked(piece))
            .map(|(at, piece)| (self.findings_with.get(&piece).copied().unwrap_or(0), at, piece))
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
        // "-51" holds "t-5" in "component-51" (BENCHMARKS "Text search", twentieth session).
        let mut chosen: Vec<(Vec<usize>, String)> = Vec::with_capacity(PIECES_ASKED);
        for (held, at, piece) in asked {
            if chosen.len() == PIECES_ASKED {
                break;
            }
            let beside_one_asked = chosen
                .iter()
                .any(|(asked_at, _)| asked_at.iter().any(|asked| at.iter().any(|here| asked.abs_diff(*here) == 1)));
            if chosen.is_empty()
                || (share(held) <= WIDE_SHARE && share(held) <= rarest * FAR_WIDER && !beside_one_asked)
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
    /// into words at everything but letters and digits and pads each word's ends, so such a `LIKE` asks for
    /// exactly the trigram "abc" only when all three are letters or digits (ASCII here: whether another
    /// script's letters count depends on the database's locale).
    PgTrgm,
}

impl TrigramIndex {
    /// Whether this index can be asked about `piece`.
    #[must_use]
    pub fn can_be_asked(self, piece: &str) -> bool {
        match self {
            Self::Fts5 => !piece.contains('\0'),
            Self::PgTrgm => piece.chars().all(|c| c.is_ascii_alphanumeric()),
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
    fn pg_trgm_is_asked_only_about_pieces_of_three_letters_or_digits() {
        // "t-5" and "-51" hold a hyphen, where pg_trgm ends a word: only "512" is a trigram of its own.
        let question = sample().narrowing("component-512", 1_000_000, PgTrgm).expect("narrow enough");
        assert_eq!(question.pieces, ["512"]);
        // The search's only rare pieces hold a hyphen; the rest are in every finding: left to the scan.
        assert_eq!(sample().narrowing("component-7", 1_000_000, PgTrgm), None);
        assert_eq!(sample().narrowing("a b", 1_000_000, PgTrgm), None);
        assert_eq!(sample().narrowing("éco", 1_000_000, PgTrgm), None, "a letter pg_trgm may not count as one");
        assert_eq!(sample().narrowing("x%_y", 1_000_000, PgTrgm), None, "LIKE's own characters are never asked");
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
