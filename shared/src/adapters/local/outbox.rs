//! The local server's email and SMS "providers": every email becomes an `.eml` file a mail
//! client opens, every SMS one JSON line, in an outbox folder.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::adapters::mime::email_bytes;
use crate::ports::{EmailSender, OutgoingEmail, OutgoingSms, SendError, SmsSender};

pub struct Outbox {
    folder: PathBuf,
    sent: AtomicU64,
}

impl Outbox {
    pub fn new(folder: PathBuf) -> std::io::Result<Outbox> {
        std::fs::create_dir_all(&folder)?;
        Ok(Outbox {
            folder,
            sent: AtomicU64::new(0),
        })
    }

    fn next_id(&self) -> String {
        let n = self.sent.fetch_add(1, Ordering::Relaxed);
        let stamp = jiff::Timestamp::now().as_millisecond();
        format!("{stamp}-{n}")
    }
}

fn unavailable(error: std::io::Error) -> SendError {
    SendError::Unavailable(Box::new(error))
}

#[async_trait]
impl EmailSender for Outbox {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<String, SendError> {
        let id = self.next_id();
        let bytes = email_bytes(email, &format!("{id}@winback.local"))?;
        std::fs::write(self.folder.join(format!("{id}.eml")), bytes).map_err(unavailable)?;
        Ok(id)
    }
}

#[async_trait]
impl SmsSender for Outbox {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<String, SendError> {
        if !sms.to.starts_with('+') {
            return Err(SendError::Refused(format!(
                "{} is not an E.164 number",
                sms.to
            )));
        }
        let id = self.next_id();
        let line =
            serde_json::json!({"id": id, "to": sms.to, "from": sms.sender, "text": sms.text});
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.folder.join("sms.jsonl"))
            .map_err(unavailable)?;
        writeln!(file, "{line}").map_err(unavailable)?;
        Ok(id)
    }
}
