//! The SMTP connection to use: the system settings' `smtp_url` (set through the API, no restart), else
//! `DD_EMAIL_URL`. The pool of the URL in use is kept and rebuilt only when the URL changes, so every
//! instance follows a change at its next mail.

use std::sync::{Arc, Mutex};

use super::mail::Mailer;

/// The mailer of the URL in use, kept between sends.
#[derive(Debug, Default)]
pub struct Mailers {
    /// `DD_EMAIL_URL`, used while the system settings name no server.
    default_url: Option<String>,
    current: Mutex<Option<(String, Arc<Mailer>)>>,
}

impl Mailers {
    /// With `DD_EMAIL_URL` as the default; a bad one is refused here, at start-up.
    pub fn new(default_url: Option<String>) -> Result<Self, String> {
        let current = match &default_url {
            Some(url) => Some((url.clone(), Arc::new(Mailer::from_url(url)?))),
            None => None,
        };
        Ok(Self { default_url, current: Mutex::new(current) })
    }

    /// Whether `DD_EMAIL_URL` names a server.
    #[must_use]
    pub fn has_default(&self) -> bool {
        self.default_url.is_some()
    }

    /// The mailer for the stored URL (or the default): `None` when neither names a server.
    pub fn for_url(&self, stored: Option<&str>) -> Result<Option<Arc<Mailer>>, String> {
        let Some(url) = stored.or(self.default_url.as_deref()) else {
            return Ok(None);
        };
        let mut current = self.current.lock().map_err(|_| "the mailer cache is poisoned".to_owned())?;
        if let Some((kept_url, mailer)) = current.as_ref()
            && kept_url == url
        {
            return Ok(Some(mailer.clone()));
        }
        let mailer = Arc::new(Mailer::from_url(url)?);
        *current = Some((url.to_owned(), mailer.clone()));
        Ok(Some(mailer))
    }
}
