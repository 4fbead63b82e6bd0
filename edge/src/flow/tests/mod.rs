//! Tests of the flow core.
