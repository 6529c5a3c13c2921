//! Intended send times as a pure function of the stages (no clock): testable as tables.
