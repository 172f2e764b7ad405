//! Signed, expiring links to one kept report, for people without an account (an outside auditor): the link
//! names the report, the share (so it can be revoked) and the expiry, and carries an HMAC-SHA256 of them
//! under a key derived from the server secret. Anything changed in the link breaks the signature.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::{ReportId, ReportShareId};

/// The key links are signed with: derived from the server secret, so a link key never signs a JWT.
#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(…)")
    }
}

/// Why a link does not open its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Not signed by this server, or changed since.
    Invalid,
    Expired,
}

impl LinkKey {
    /// The key for links, from the server secret.
    #[must_use]
    pub fn from_secret(secret: &[u8]) -> Self {
        Self(mac(secret, b"slawatch report links v1"))
    }

    /// The signature of a link to `report` through `share`, valid until `expires_at` (epoch seconds), hex.
    #[must_use]
    pub fn sign(&self, report: ReportId, share: ReportShareId, expires_at: i64) -> String {
        super::token::to_hex(&mac(&self.0, message(report, share, expires_at).as_bytes()))
    }

    /// Whether `signature` is this server's for that link and the link has not expired at `now`.
    pub fn verify(
        &self,
        report: ReportId,
        share: ReportShareId,
        expires_at: i64,
        signature: &str,
        now: i64,
    ) -> Result<(), LinkError> {
        let Ok(mut check) = Hmac::<Sha256>::new_from_slice(&self.0) else { return Err(LinkError::Invalid) };
        check.update(message(report, share, expires_at).as_bytes());
        let given = unhex(signature).ok_or(LinkError::Invalid)?;
        // Constant time: `verify_slice` compares without stopping at the first difference.
        check.verify_slice(&given).map_err(|_| LinkError::Invalid)?;
        if now >= expires_at {
            return Err(LinkError::Expired);
        }
        Ok(())
    }
}

fn message(report: ReportId, share: ReportShareId, expires_at: i64) -> String {
    format!("report:{report}:share:{share}:expires:{expires_at}")
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_opens_its_report_until_it_expires_and_not_once_changed() {
        let key = LinkKey::from_secret(b"server secret of the tests");
        let report = ReportId::new(7);
        let share = ReportShareId::new(3);
        let signature = key.sign(report, share, 1_000);
        assert_eq!(key.verify(report, share, 1_000, &signature, 999), Ok(()));
        assert_eq!(key.verify(report, share, 1_000, &signature, 1_000), Err(LinkError::Expired));
        assert_eq!(
            key.verify(ReportId::new(8), share, 1_000, &signature, 0),
            Err(LinkError::Invalid),
            "another report"
        );
        assert_eq!(
            key.verify(report, ReportShareId::new(4), 1_000, &signature, 0),
            Err(LinkError::Invalid),
            "another share"
        );
        assert_eq!(key.verify(report, share, 9_999, &signature, 0), Err(LinkError::Invalid), "a later expiry");
        let mut tampered = signature.clone();
        tampered.replace_range(0..1, if signature.starts_with('0') { "1" } else { "0" });
        assert_eq!(key.verify(report, share, 1_000, &tampered, 0), Err(LinkError::Invalid));
        assert_eq!(key.verify(report, share, 1_000, "zz", 0), Err(LinkError::Invalid));
        let other = LinkKey::from_secret(b"another server");
        assert_eq!(other.verify(report, share, 1_000, &signature, 0), Err(LinkError::Invalid));
    }
}
