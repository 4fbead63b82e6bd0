//! Load without mix-ups: fifty distinct users sign in at the same time
//! through the whole flow (password, Duo start, the emulator approving,
//! callback); each must end with a session naming exactly that user, with
//! no error. The benchmark version is `examples/signin_load.rs`.

use std::collections::BTreeSet;
use std::sync::Arc;

use e2e::signin::Cast;
use shared::api::AuthMethod;

const USERS: usize = 50;

#[tokio::test(flavor = "multi_thread")]
async fn fifty_users_signing_in_at_once_each_get_their_own_session() {
    let cast = Arc::new(Cast::start(USERS).await.unwrap_or_else(|e| panic!("{e}")));
    let mut sign_ins = tokio::task::JoinSet::new();
    for (n, user) in cast.users.iter().enumerate() {
        let (cast, user) = (Arc::clone(&cast), user.clone());
        let ip = format!("198.18.{}.{}", n / 200, 1 + n % 200);
        sign_ins.spawn(async move { (user.clone(), cast.sign_in(&user, &ip).await) });
    }
    let mut errors = Vec::new();
    let mut signed_in = BTreeSet::new();
    let mut txids = BTreeSet::new();
    while let Some(joined) = sign_ins.join_next().await {
        let (user, result) = joined.expect("a sign-in task");
        match result {
            Ok(done) => {
                assert_eq!(done.session.username, user, "a session of another user");
                assert_eq!(done.session.method, AuthMethod::Duo);
                let duo = done.session.duo.expect("Duo's report on a Duo session");
                assert_eq!(duo.result.as_deref(), Some("allow"), "{user}");
                txids.insert(duo.txid.expect("Duo's transaction id"));
                signed_in.insert(user);
            }
            Err(error) => errors.push(error),
        }
    }
    assert!(errors.is_empty(), "{} sign-ins failed: {errors:#?}", errors.len());
    let expected: BTreeSet<String> = cast.users.iter().cloned().collect();
    assert_eq!(signed_in, expected, "every user exactly once");
    assert_eq!(txids.len(), USERS, "one Duo transaction per sign-in, none shared");
    cast.worker.assert_clean_log(&[]);
}
