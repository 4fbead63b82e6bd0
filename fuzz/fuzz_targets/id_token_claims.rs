#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::id_token_claims(data));
