//! `@username` mentions in note text.

/// The usernames mentioned in `text`, in order of first mention, without duplicates. A mention starts at an
/// `@` at the start of the text or after a non-username character (so email addresses are not mentions), and
/// a trailing `.` (end of sentence) is not part of it.
#[must_use]
pub fn mentions(text: &str) -> Vec<String> {
    let is_name_char = |c: char| c.is_alphanumeric() || "@.+-_".contains(c);
    let mut found: Vec<String> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut index = 0;
    while index < chars.len() {
        let starts = chars[index] == '@' && (index == 0 || !is_name_char(chars[index - 1]));
        if !starts {
            index += 1;
            continue;
        }
        let mut end = index + 1;
        while end < chars.len() && is_name_char(chars[end]) && chars[end] != '@' {
            end += 1;
        }
        let name: String = chars[index + 1..end].iter().collect::<String>().trim_end_matches('.').to_owned();
        if !name.is_empty() && !found.contains(&name) {
            found.push(name);
        }
        index = end.max(index + 1);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_mentions_but_not_email_addresses() {
        assert_eq!(mentions("@carrot please chase @angua."), ["carrot", "angua"]);
        assert_eq!(mentions("mail cheery@golemtrust.am"), Vec::<String>::new());
        assert_eq!(mentions("(@otto.chriek), @otto.chriek again"), ["otto.chriek"]);
        assert_eq!(mentions("@ alone, @@double"), Vec::<String>::new());
        assert_eq!(mentions("line\n@dorfl: done"), ["dorfl"]);
    }
}
