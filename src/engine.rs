//! A run from start to end: connect, check the mix against the server, schedule, record, stop, report.
