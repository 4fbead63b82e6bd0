//! Test support (in the next commit).
