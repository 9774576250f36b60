//! The SES and SNS senders against moto: an email goes out as Raw MIME with its one-click
//! unsubscribe headers and tags, an SMS with its type and sender; both are read back from
//! moto's record of what was sent.

use shared::adapters::aws::ses::SesSender;
use shared::adapters::aws::sns::SnsSender;
use shared::ports::{EmailSender, OutgoingEmail, OutgoingSms, SendError, SmsSender};
use shared::testing::moto;

#[tokio::test]
async fn an_email_goes_out_as_raw_mime_with_one_click_unsubscribe() {
    let account = moto::Account::fresh();
    let sdk = account.sdk_config().await;
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    ses.create_email_identity()
        .email_identity("hello@salon.example")
        .send()
        .await
        .unwrap();
    let sender = SesSender::new(ses, None);
    let email = OutgoingEmail {
        from: "Maple Street <hello@salon.example>".into(),
        to: "ana-ses-test@example.com".into(),
        subject: "Time for your next cut, Ana?".into(),
        text: "Hi Ana".into(),
        html: Some("<p>Hi Ana</p>".into()),
        unsubscribe_url: "https://api.example/u/k1.sestoken".into(),
        unsubscribe_mailto: None,
        tags: vec![("tenant".into(), "salon".into())],
    };
    let id = sender.send_email(&email).await.unwrap();
    assert!(!id.is_empty());
    let sent = account.emails();
    assert_eq!(sent.len(), 1, "one email in this account: {sent:?}");
    let raw = sent[0].replace("\r\n ", " ");
    assert!(raw.contains("To: ana-ses-test@example.com"), "{raw}");
    assert!(
        raw.contains("List-Unsubscribe: <https://api.example/u/k1.sestoken>"),
        "{raw}"
    );
    assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));

    // A malformed address is refused for good, not retried.
    let bad = OutgoingEmail {
        to: "not an address".into(),
        ..email
    };
    assert!(matches!(
        sender.send_email(&bad).await,
        Err(SendError::Refused(_))
    ));
}

#[tokio::test]
async fn an_sms_goes_to_e164_numbers_only_with_its_sender() {
    let account = moto::Account::fresh();
    let sdk = account.sdk_config().await;
    let sender = SnsSender::new(aws_sdk_sns::Client::new(&sdk));
    let sms = OutgoingSms {
        to: "+447700900777".into(),
        text: "Hi Ana, it's Maple Street. Reply STOP to opt out".into(),
        sender: "MapleSt".into(),
    };
    let id = sender.send_sms(&sms).await.unwrap();
    assert!(!id.is_empty());
    let sent = account.texts();
    assert_eq!(
        sent,
        [(
            "+447700900777".to_owned(),
            "Hi Ana, it's Maple Street. Reply STOP to opt out".to_owned()
        )],
        "one SMS in this account"
    );
    // Moto takes any number; winback does not.
    let local = OutgoingSms {
        to: "07700 900777".into(),
        ..sms
    };
    assert!(matches!(
        sender.send_sms(&local).await,
        Err(SendError::Refused(_))
    ));
}
