//! Property tests for the parsers that read untrusted input: they never panic, and what they
//! accept round-trips.

use proptest::prelude::*;

use crate::jwt;
use crate::oauth::check_redirect_uri;
use crate::params::Params;
use crate::web::with_query;

/// Bytes biased towards the characters the parsers care about.
fn tricky_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let interesting =
        prop::sample::select(b"-\r\n=&%+.;:/?#[]@\"' \tabXY09\xc3\xa9\xff{}".to_vec());
    prop::collection::vec(prop_oneof![interesting, any::<u8>()], 0..max)
}

proptest! {
    #[test]
    fn params_never_panic(
        query in ".{0,80}",
        content_type in prop_oneof![
            Just("multipart/form-data; boundary=b".to_owned()),
            Just("application/x-www-form-urlencoded".to_owned()),
            ".{0,40}",
        ],
        body in tricky_bytes(300),
    ) {
        let _ = Params::from_request(Some(&query), Some(&content_type), &body);
    }

    #[test]
    fn multipart_with_a_valid_frame_and_random_content_never_panics(
        name in tricky_bytes(20),
        value in tricky_bytes(60),
        close in any::<bool>(),
    ) {
        let mut body = b"--b\r\nContent-Disposition: form-data; name=\"".to_vec();
        body.extend(name);
        body.extend(b"\"\r\n\r\n");
        body.extend(value);
        if close {
            body.extend(b"\r\n--b--");
        }
        let _ = Params::from_request(None, Some("multipart/form-data; boundary=b"), &body);
    }

    #[test]
    fn urlencoded_values_round_trip(key in "[a-z_]{1,12}", value in "\\PC{0,40}") {
        let url = with_query("https://app.example.com/cb", &[(&key, &value)]);
        let query = url.split_once('?').map(|(_, q)| q.to_owned());
        let params = Params::from_query(query.as_deref());
        prop_assert_eq!(params.get(&key), Some(value.as_str()));
    }

    #[test]
    fn jwt_parsing_never_panics(token in "[A-Za-z0-9_.=-]{0,200}") {
        let _ = jwt::decode_unverified(&token);
        prop_assert!(jwt::verify_hs512(&token, b"key").is_err() || token.split('.').count() == 3);
    }

    #[test]
    fn redirect_policy_never_panics(uri in "\\PC{0,120}", lenient in any::<bool>()) {
        let _ = check_redirect_uri(&uri, 1024, lenient);
        let _ = check_redirect_uri(&format!("https://{uri}"), 64, lenient);
    }
}
