//! Tags of an imported scan (DefectDojo's `tags` of `import-scan`): short labels, none containing a comma
//! (DefectDojo's separator, and how they are stored), each at most once, in the order given.

use super::validated;

/// How many tags a scan may carry, and how long one may be.
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_CHARS: usize = 100;

/// A checked list of tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Vec<String>);

impl Tags {
    /// Tags as a request gives them: each value may itself list several, comma-separated (as a CI pipeline
    /// sends `-F tags=nightly,ci` or `-F tags=nightly -F tags=ci`); blanks are dropped, repeats kept once.
    ///
    /// # Errors
    /// A tag over `MAX_TAG_CHARS` characters, or more than `MAX_TAGS` of them, naming the problem.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, validated::Invalid> {
        let mut tags: Vec<String> = Vec::new();
        for tag in values.into_iter().flat_map(|v| v.split(',')).map(str::trim).filter(|t| !t.is_empty()) {
            if tag.chars().count() > MAX_TAG_CHARS {
                return Err(validated::Invalid(format!("tags: {tag:?} is over {MAX_TAG_CHARS} characters")));
            }
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        if tags.len() > MAX_TAGS {
            return Err(validated::Invalid(format!("tags: {} of them, at most {MAX_TAGS}", tags.len())));
        }
        Ok(Self(tags))
    }

    /// `parse`, when a request gives any tag values at all; `None` when it gives none (a re-import then keeps
    /// the test's tags).
    ///
    /// # Errors
    /// As `parse`.
    pub fn given<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Option<Self>, validated::Invalid> {
        let mut values = values.into_iter().peekable();
        if values.peek().is_none() {
            return Ok(None);
        }
        Self::parse(values).map(Some)
    }

    #[must_use]
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

impl std::fmt::Display for Tags {
    /// The stored form: the tags joined by commas.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

impl std::str::FromStr for Tags {
    type Err = validated::Invalid;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse([text])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_split_trimmed_kept_once_and_limited() {
        let tags = Tags::parse(["nightly, ci", "ci", " ", "release-1.2"]).expect("valid");
        assert_eq!(tags.as_slice(), ["nightly", "ci", "release-1.2"]);
        assert_eq!(tags.to_string().parse::<Tags>(), Ok(tags), "stored and read back the same");
        assert_eq!(Tags::parse(["", " , "]), Ok(Tags::default()));
        assert_eq!(Tags::given(Vec::<&str>::new()), Ok(None), "no values: keep the test's");
        assert_eq!(Tags::given([""]), Ok(Some(Tags::default())), "an empty value: clear them");
        let long = "x".repeat(MAX_TAG_CHARS + 1);
        assert!(Tags::parse([long.as_str()]).is_err_and(|e| e.0.contains("over 100 characters")));
        let many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
        assert!(Tags::parse(many.iter().map(String::as_str)).is_err_and(|e| e.0.contains("at most 50")));
    }
}
