//! Email counts and the business's pause.

use crate::ports::Store;

use super::{contract_cases, day, tenant};

async fn email_counts_add_up_by_day_and_a_pause_is_kept_until_lifted(store: &dyn Store) {
    use crate::domain::reputation::{MailEvent, Pause};

    let t = tenant(store, "t-mail").await;
    let other = tenant(store, "t-mail-other").await;
    for (on, event, times) in [
        ("2026-11-01", MailEvent::Sent, 3),
        ("2026-11-02", MailEvent::Sent, 2),
        ("2026-11-02", MailEvent::Bounced, 1),
        ("2026-11-20", MailEvent::Complained, 1),
        ("2026-12-01", MailEvent::Sent, 4),
    ] {
        for _ in 0..times {
            store.count_mail(&t.id, day(on), event).await.unwrap();
        }
    }
    store
        .count_mail(&other.id, day("2026-11-02"), MailEvent::Sent)
        .await
        .unwrap();
    let counts = store
        .mail_counts(&t.id, day("2026-11-01"), day("2026-11-30"))
        .await
        .unwrap();
    assert_eq!((counts.sent, counts.bounced, counts.complained), (5, 1, 1));
    let one_day = store
        .mail_counts(&t.id, day("2026-11-02"), day("2026-11-02"))
        .await
        .unwrap();
    assert_eq!((one_day.sent, one_day.bounced), (2, 1));

    let pause = Pause {
        reason: "bounces".into(),
        since: "2026-11-30T12:00:00Z".parse().unwrap(),
    };
    store.set_pause(&t.id, Some(pause.clone())).await.unwrap();
    assert_eq!(
        store.tenant(&t.id).await.unwrap().unwrap().paused,
        Some(pause)
    );
    assert_eq!(store.tenant(&other.id).await.unwrap().unwrap().paused, None);
    store.set_pause(&t.id, None).await.unwrap();
    assert_eq!(store.tenant(&t.id).await.unwrap().unwrap().paused, None);
}

contract_cases![email_counts_add_up_by_day_and_a_pause_is_kept_until_lifted,];
